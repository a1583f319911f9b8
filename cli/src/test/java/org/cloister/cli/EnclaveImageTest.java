package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.Collections;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.runtime.ImageInventory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The secure aggregator's image as built (the jar whose SHA-384 is PCR0): only what runs inside,
 * fixed entry times, a bill of materials inside, and {@code cloister enclave measure} reporting it.
 * Needs the image ({@code ./mvnw -pl cli -am package -DskipTests}, or {@code verify}); two clean
 * builds from different paths giving the same bytes is {@link EnclaveImageReproducibilityTest} (slow).
 */
class EnclaveImageTest {
  /**
   * Before issue 16 the image held 17,873 classes, after its first step about 6,300 (Netty 1,609 of them), with gRPC
   * over OkHttp 5,554, 5,775 with main's P-256 ledger signatures (BouncyCastle's EC code), then 4,2xx with okio 1.x
   * (no Kotlin runtime, 659 classes) and Jackson's streaming core instead of databind (about 800 classes), 4,231;
   * then 4,2xx without the host-side verifiers (SNP, TDX, Nitro, their collateral parsing and registry). This bound
   * (the new count and some room for new enclave code) catches a lost minimisation or a dependency that came back
   * (Netty ~1,600, Kotlin 659, databind ~750).
   */
  static final int MAX_CLASSES = 4_300;
  /** Issue 16's target: at most 25% of the 17,873 classes the image held before. */
  static final int TARGET_CLASSES = 17_873 / 4;

  static Path image;

  @BeforeAll
  static void locate() {
    String p = System.getProperty("cloister.enclave.image");
    assertThat(p).as("system property cloister.enclave.image (set by the cli pom)").isNotBlank();
    image = Path.of(p);
    assertThat(image).as("the enclave image: build it with ./mvnw -pl cli -am package -DskipTests").isRegularFile();
  }

  private static List<String> names() throws Exception {
    return ImageChecks.names(image);
  }

  @Test
  void holdsNoBenchmarksNoCommonsMathNoUnusedBouncyCastleAndNoHostCode() throws Exception {
    List<String> names = names();
    assertThat(names).contains("org/cloister/enclave/EnclaveMain.class",
        "org/cloister/enclave/aggregation/AggregationSession.class");
    assertThat(names).noneMatch(n -> n.startsWith("org/cloister/bench/") || n.contains("/bench/"))
        .noneMatch(n -> n.startsWith("org/apache/commons/math3/"))
        .noneMatch(n -> n.startsWith("org/bouncycastle/pqc/") && !n.endsWith("/") || n.startsWith("org/bouncycastle/jcajce/provider/symmetric/")
            || n.equals("org/bouncycastle/jce/provider/BouncyCastleProvider.class"))
        .noneMatch(n -> n.startsWith("META-INF/versions/") && n.contains("/org/bouncycastle/"))
        // one HPKE (trust's Hpke over the one AES-GCM path): BouncyCastle's HPKE is only a test reference now
        .noneMatch(n -> n.startsWith("org/bouncycastle/crypto/hpke/") || n.equals("org/cloister/trust/hpke/FastHpke.class"))
        .noneMatch(n -> n.startsWith("org/cloister/coordinator/") || n.startsWith("org/cloister/site/")
            || n.startsWith("org/cloister/cli/") || n.startsWith("org/cloister/simulations/")
            || n.startsWith("org/deeplearning4j/") || n.startsWith("org/nd4j/"))
        // gRPC over OkHttp: no Netty (nor its native libraries) in the enclave
        .noneMatch(n -> n.startsWith("io/grpc/netty/") || n.contains("netty_tcnative") || n.contains("netty_transport_native"));
    assertThat(names).contains("io/grpc/okhttp/OkHttpServerBuilder.class");
    // okio 1.x is pure Java (no Kotlin runtime); JSON and CBOR on Jackson's streaming core and Gson (no databind);
    // host-only verification code (measurement pins) stays outside
    assertThat(names).noneMatch(n -> n.startsWith("kotlin/") && n.endsWith(".class"))
        .noneMatch(n -> n.startsWith("com/fasterxml/jackson/databind/"))
        .doesNotContain("org/cloister/trust/attestation/MeasurementPins.class");
    long classes = names.stream().filter(n -> n.endsWith(".class")).count();
    assertThat(classes).as("classes in the image").isBetween(1_000L, (long) MAX_CLASSES);
    assertThat(classes).as("issue 16's target, 25%% of 17,873").isLessThanOrEqualTo(TARGET_CLASSES);
  }

  /**
   * The minimiser keeps what it sees referenced, the service files' implementations and our explicit keeps; a class
   * of ours that names a class the image lacks (say host-only code kept whole whose library was left out) would
   * fail inside the enclave with NoClassDefFoundError, and a service file naming a missing class fails the
   * ServiceLoader that reads it. jdeps (the JDK's) lists every reference of the image's classes.
   */
  @Test
  void noClassOfOursRefersToAClassTheImageLacks() throws Exception {
    assertThat(ImageChecks.danglingReferences(image, "org.cloister.enclave.EnclaveMain"))
        .as("references from our classes to classes missing from the image").isEmpty();
    assertThat(ImageChecks.servicesNamingMissingClasses(image)).as("service files naming classes the image lacks")
        .isEmpty();
  }

  /**
   * The enclave produces its own evidence and verifies none: the SEV-SNP, TDX and Nitro verifiers, their pinned
   * roots, Intel PCS / AMD KDS collateral parsing and the verifier registry are the verifying parties' (they came in
   * through the platform registry, {@code TeePlatform.fromId}, and the launch-value readers on the verifiers).
   */
  @Test
  void carriesNoHostSideVerifierAndOnlyTheJnaNativesOfATeeGuest() throws Exception {
    List<String> names = names();
    assertThat(names).as("host-only verification code").doesNotContainAnyElementsOf(ImageChecks.HOST_ONLY_VERIFICATION)
        .noneMatch(n -> n.startsWith("org/cloister/trust/attestation/EvidenceVerifiers"));
    // what the enclave does run: its own evidence and the launch value it checks against the files it loaded
    assertThat(names).contains("org/cloister/trust/attestation/LaunchConfiguration.class",
        "org/cloister/trust/attestation/snp/SimulatedSnpPlatform.class",
        "org/cloister/trust/attestation/tdx/SimulatedTdxPlatform.class",
        "org/cloister/enclave/runtime/tee/NitroSecureModule.class");
    assertThat(ImageChecks.nativeLibraries(names)).as("native libraries: JNA's for Linux x86-64 and aarch64 only")
        .isEqualTo(new java.util.TreeSet<>(ImageChecks.JNA_NATIVES));
  }

  @Test
  void noEntryCarriesTheTimeOfTheBuild() throws Exception {
    // our entries get project.build.outputTimestamp (root pom); shaded dependencies keep the times inside their
    // released jars. Either way nothing depends on when or where the image was built.
    LocalDateTime fixed = LocalDateTime.of(2024, 1, 1, 0, 0);
    LocalDateTime builtAfter = LocalDateTime.ofInstant(Files.getLastModifiedTime(image).toInstant(),
        java.time.ZoneId.systemDefault()).minusDays(1);
    try (ZipFile z = new ZipFile(image.toFile())) {
      for (ZipEntry e : Collections.list(z.entries())) {
        String n = e.getName();
        if (n.startsWith("org/cloister/") || n.equals("META-INF/MANIFEST.MF")) {
          assertThat(e.getTimeLocal()).as(n).isEqualTo(fixed);
        } else {
          assertThat(e.getTimeLocal()).as(n).isBefore(builtAfter);
        }
      }
    }
  }

  @Test
  void carriesItsBillOfMaterialsWithVersionsAndNothingTestScoped() throws Exception {
    ImageInventory inv = ImageInventory.of(image);
    // the build writes it offline as online (maven-dependency-plugin's list; CycloneDX's makeBom is skipped under -o)
    // and stops if it is missing: an image without it would have another PCR0
    assertThat(inv.thirdParty()).as(ImageInventory.SBOM_ENTRY + " in the image").isPresent();
    List<String> artifacts = inv.thirdParty().get().stream().map(Object::toString).toList();
    assertThat(artifacts).contains("org.bouncycastle:bcprov-jdk18on:1.78.1", "io.grpc:grpc-okhttp:1.68.1",
        "com.google.protobuf:protobuf-java:3.25.5")
        .noneMatch(a -> a.startsWith("io.grpc:grpc-netty"))
        .contains("com.squareup.okio:okio:1.17.6", "com.fasterxml.jackson.core:jackson-core:2.17.2")
        .noneMatch(a -> a.startsWith("org.jetbrains.kotlin:") || a.startsWith("com.fasterxml.jackson.core:jackson-databind"));
    assertThat(artifacts).noneMatch(a -> a.startsWith("org.cloister:"))
        .noneMatch(a -> a.contains("commons-math3") || a.contains("junit") || a.contains("assertj")
            || a.contains("deeplearning4j") || a.contains("jmh"));
  }

  @Test
  void enclaveMeasureReportsSizeClassesAndThirdPartyArtifacts(@TempDir Path dir) throws Exception {
    Path policy = dir.resolve("policy.json");
    Files.write(policy, new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 10, 1.0, 1, 2, null,
        AggregationPolicy.FEDAVG).toJson());
    Path config = dir.resolve("config.json");
    Files.writeString(config, """
        {"format":"cloister-enclave-config/v2","module_id":"m",
         "members":[{"id":"site-1","role":"site","sealing_public_key":"%s"}],
         "consortium_ca_pem":"-----BEGIN CERTIFICATE-----\\nx\\n-----END CERTIFICATE-----",
         "key_broker":{"key_id":"k","ca_certificate_pem":"-----BEGIN CERTIFICATE-----\\nx\\n-----END CERTIFICATE-----","server_name":"b"}}
        """.formatted("ab".repeat(32)));
    CloisterCommandTest.Run r = CloisterCommandTest.run("enclave", "measure", "--image", image.toString(), "--config",
        config.toString(), "--policy", policy.toString(), "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode img = new ObjectMapper().readTree(r.out()).get("image");
    long classes = names().stream().filter(n -> n.endsWith(".class")).count();
    assertThat(img.get("classes").asLong()).isEqualTo(classes);
    assertThat(img.get("size_bytes").asLong()).isEqualTo(Files.size(image));
    assertThat(img.get("third_party").toString()).contains("org.bouncycastle:bcprov-jdk18on:1.78.1");

    CloisterCommandTest.Run text = CloisterCommandTest.run("enclave", "measure", "--image", image.toString(), "--config",
        config.toString(), "--policy", policy.toString());
    assertThat(text.out()).contains("image " + Files.size(image) + " bytes, " + classes + " classes")
        .contains("  io.grpc:grpc-okhttp:1.68.1");
  }
}
