#!/usr/bin/env bash
# Builds the base of the Cloister container image without a registry or a Docker daemon: a jlink'd
# Java runtime (from the build machine's JDK 17) plus the shared libraries it and the DL4J natives
# load, copied from the build machine (Debian 12, glibc), and a non-root user. Jib puts this folder
# under the application layers (FROM scratch). Usage: runtime-layer.sh OUT_DIR
set -euo pipefail
out="$1"
jdk="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
if [[ -x "$out/opt/java/bin/java" && "$out/.stamp" -nt "$0" ]]; then
  exit 0  # already built by this version of the script
fi
rm -rf "$out"
mkdir -p "$out/opt" "$out/etc" "$out/tmp" "$out/kit" "$out/state"
# java.se and the JDK modules the services use (EC crypto, Unsafe for Netty/DL4J, JMX for Micrometer)
"$jdk/bin/jlink" --add-modules java.se,jdk.crypto.ec,jdk.unsupported,jdk.management,jdk.zipfs,jdk.naming.dns,jdk.localedata \
  --strip-debug --no-header-files --no-man-pages --compress=2 --output "$out/opt/java"
# every shared library the runtime's ELF files need, plus the C++/OpenMP runtimes DL4J's natives load
libs() {
  find "$out/opt/java" -type f \( -name '*.so' -o -path '*/bin/*' -o -name jspawnhelper \) -print0 \
    | xargs -0 ldd 2>/dev/null | awk '/=>/ {print $3} /^\t\/lib64/ {print $1}' | grep '^/' | sort -u
  for extra in libstdc++.so.6 libgcc_s.so.1 libgomp.so.1 libz.so.1; do
    p="$("$(command -v ldconfig || echo /sbin/ldconfig)" -p | awk -v n="$extra" '$1 == n && /x86-64/ {print $NF; exit}')"
    [[ -n "$p" ]] && { echo "$p"; ldd "$p" | awk '/=>/ {print $3}' | grep '^/'; }
  done
}
out="$(cd "$out" && pwd)"
for lib in $(libs | sort -u | grep -v "^$out/"); do  # the runtime's own libraries are already in place
  cp --parents -L "$lib" "$out/"
done
cp --parents -L /lib64/ld-linux-x86-64.so.2 "$out/"
# the user the services run as: no shell, no home outside /tmp
printf 'root:x:0:0:root:/root:/sbin/nologin\ncloister:x:65532:65532:cloister:/tmp:/sbin/nologin\n' > "$out/etc/passwd"
printf 'root:x:0:\ncloister:x:65532:\n' > "$out/etc/group"
touch "$out/.stamp"
