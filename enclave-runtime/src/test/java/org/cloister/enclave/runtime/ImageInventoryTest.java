package org.cloister.enclave.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inventory {@code cloister enclave measure} prints, read from the bill of materials inside an image. */
class ImageInventoryTest {
  private static Path jar(Path dir, String sbom) throws IOException {
    Path p = dir.resolve("image.jar");
    try (OutputStream f = Files.newOutputStream(p); ZipOutputStream z = new ZipOutputStream(f)) {
      z.putNextEntry(new ZipEntry("org/cloister/enclave/EnclaveMain.class"));
      z.write(new byte[] {(byte) 0xCA, (byte) 0xFE});
      z.putNextEntry(new ZipEntry("io/grpc/okhttp/OkHttpServerBuilder.class"));
      z.write(new byte[] {(byte) 0xCA, (byte) 0xFE});
      if (sbom != null) {
        z.putNextEntry(new ZipEntry(ImageInventory.SBOM_ENTRY));
        z.write(sbom.getBytes(StandardCharsets.UTF_8));
      }
    }
    return p;
  }

  @Test
  void readsTheDependencyListTheBuildWritesLeavingOutOurOwnModules(@TempDir Path dir) throws IOException {
    // maven-dependency-plugin 3.7 list output, as the enclave build writes it (module suffixes, optional, classifier)
    ImageInventory inv = ImageInventory.of(jar(dir, """

        The following files have been resolved:
           io.grpc:grpc-okhttp:jar:1.68.1:compile -- module io.grpc.okhttp [auto]
           org.bouncycastle:bcprov-jdk18on:jar:1.78.1:compile -- module org.bouncycastle.provider
           org.cloister:trust:jar:0.1.0-SNAPSHOT:compile -- module trust (auto)
           org.slf4j:slf4j-simple:jar:2.0.13:runtime (optional) -- module org.slf4j.simple
           io.netty:netty-tcnative:jar:linux-x86_64:2.0.66.Final:runtime

        """));
    assertThat(inv.classCount()).isEqualTo(2);
    assertThat(inv.thirdParty()).isPresent();
    assertThat(inv.thirdParty().get()).extracting(Object::toString).containsExactly(
        "io.grpc:grpc-okhttp:1.68.1", "io.netty:netty-tcnative:linux-x86_64:2.0.66.Final",
        "org.bouncycastle:bcprov-jdk18on:1.78.1", "org.slf4j:slf4j-simple:2.0.13");
  }

  @Test
  void anImageWithoutTheListSaysSoAndAMalformedListIsAnError(@TempDir Path dir) throws IOException {
    assertThat(ImageInventory.of(jar(dir, null)).thirdParty()).isEmpty();
    assertThatThrownBy(() -> ImageInventory.of(jar(dir, "   io.grpc:grpc-okhttp\n")))
        .isInstanceOf(IOException.class).hasMessageContaining(ImageInventory.SBOM_ENTRY)
        .hasMessageContaining("io.grpc:grpc-okhttp");
    assertThatThrownBy(() -> ImageInventory.of(jar(dir, "The following files have been resolved:\n   none\n")))
        .isInstanceOf(IOException.class).hasMessageContaining("lists no third-party artifact");
  }
}
