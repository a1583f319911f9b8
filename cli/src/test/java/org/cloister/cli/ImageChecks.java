package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * What {@link EnclaveImageTest} and {@link InferenceImageTest} check alike of a minimised enclave image jar: that the
 * minimiser left nothing of ours referring to a class the image lacks, that no service file names a missing class,
 * which native libraries it carries, and that host-only verification code stayed outside.
 */
final class ImageChecks {
  /**
   * The verifying side of attestation: evidence verifiers, their pinned roots, collateral (PCS/KDS) parsing, the
   * verifier registry and the parties' pins. An enclave produces its own evidence and verifies none; these stay
   * on the host (docs/trust.md, "What the image contains").
   */
  static final List<String> HOST_ONLY_VERIFICATION = List.of(
      "org/cloister/trust/attestation/snp/SnpVerifier.class",
      "org/cloister/trust/attestation/snp/AmdProduct.class",
      "org/cloister/trust/attestation/tdx/TdxVerifier.class",
      "org/cloister/trust/attestation/tdx/PcsNode.class",
      "org/cloister/trust/attestation/tdx/SignedPcsJson.class",
      "org/cloister/trust/attestation/tdx/PckExtensions.class",
      "org/cloister/trust/attestation/tdx/IntelSgxRoot.class",
      "org/cloister/trust/attestation/nitro/AwsNitroRoot.class",
      "org/cloister/trust/attestation/nitro/NitroAttestationVerifier.class",
      "org/cloister/trust/attestation/nitro/NitroEvidenceVerifier.class",
      "org/cloister/trust/attestation/EvidenceVerifiers.class",
      "org/cloister/trust/attestation/EvidenceVerifiers$Tdx.class",
      "org/cloister/trust/attestation/EvidenceVerifiers$SevSnp.class",
      "org/cloister/trust/attestation/BoundEvidenceVerifier.class",
      "org/cloister/trust/attestation/CertificateChecks.class",
      "org/cloister/trust/attestation/EvidencePolicy.class",
      "org/cloister/trust/attestation/MeasurementPins.class",
      "org/cloister/trust/attestation/Collateral.class", // what a verifier reads; an enclave produces evidence only
      "org/cloister/trust/attestation/Collateral$RawJson.class",
      "org/cloister/trust/attestation/tdx/SimulatedIntelPcs.class",
      "org/cloister/trust/attestation/nitro/aws-nitro-root-g1.der",
      "org/cloister/trust/attestation/snp/ark-turin.pem",
      "org/cloister/trust/attestation/tdx/intel-sgx-root-ca.der",
      "META-INF/services/org.cloister.trust.attestation.EvidenceVerifierProvider");

  /** The JNA dispatch libraries a TEE guest needs: Linux x86-64 (Nitro, SEV-SNP, TDX) and aarch64 (Graviton). */
  static final Set<String> JNA_NATIVES = Set.of("com/sun/jna/linux-x86-64/libjnidispatch.so",
      "com/sun/jna/linux-aarch64/libjnidispatch.so");

  private ImageChecks() {
  }

  static List<String> names(Path jar) throws Exception {
    List<String> out = new ArrayList<>();
    try (ZipFile z = new ZipFile(jar.toFile())) {
      Collections.list(z.entries()).forEach(e -> out.add(e.getName()));
    }
    return out;
  }

  /** Native libraries in the image (the JDK loads none from a jar, JNA unpacks its own). */
  static Set<String> nativeLibraries(List<String> names) {
    Set<String> out = new TreeSet<>();
    for (String n : names) {
      if (n.endsWith(".so") || n.endsWith(".dll") || n.endsWith(".dylib") || n.endsWith(".jnilib") || n.endsWith(".a")) {
        out.add(n);
      }
    }
    return out;
  }

  /**
   * References from our classes to classes the image lacks, by the JDK's jdeps: the minimiser keeps what it sees
   * referenced, the service files' implementations and our explicit keeps; a class of ours naming a class the image
   * lacks would fail inside the enclave with NoClassDefFoundError.
   */
  static List<String> danglingReferences(Path jar, String mainClass) {
    java.util.spi.ToolProvider jdeps = java.util.spi.ToolProvider.findFirst("jdeps").orElseThrow();
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    int code = jdeps.run(new java.io.PrintWriter(out), new java.io.PrintWriter(err), "--multi-release", "17",
        "-verbose:class", jar.toString());
    assertThat(code).as(err.toString()).isZero();
    assertThat(out.toString()).as("jdeps' listing names the main class").contains(mainClass);
    return out.toString().lines().filter(l -> l.contains("not found"))
        .filter(l -> l.strip().startsWith("org.cloister.")).toList();
  }

  /** Implementations named by the image's META-INF/services files that the image does not hold. */
  static List<String> servicesNamingMissingClasses(Path jar) throws Exception {
    List<String> missing = new ArrayList<>();
    try (ZipFile z = new ZipFile(jar.toFile())) {
      for (ZipEntry e : Collections.list(z.entries())) {
        if (!e.getName().startsWith("META-INF/services/") || e.isDirectory()) {
          continue;
        }
        String text;
        try (InputStream in = z.getInputStream(e)) {
          text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (String line : text.lines().toList()) {
          String cls = line.replaceAll("#.*", "").strip();
          if (!cls.isEmpty() && z.getEntry(cls.replace('.', '/') + ".class") == null) {
            missing.add(e.getName() + ": " + cls);
          }
        }
      }
    }
    return missing;
  }
}
