package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.cloister.enclave.runtime.CodeMeasurement;
import org.cloister.enclave.runtime.ImageInventory;
import org.cloister.inference.enclave.InferenceMeasurement;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The inference enclave's image as built (the directory whose tree digest is PCR0): one minimised jar
 * with only what runs inside (no DL4J/ND4J and their native libraries, no Netty), its bill of
 * materials inside, and {@code cloister infer measure} reporting it. Needs the image ({@code ./mvnw
 * -pl cli -am package -DskipTests}); two builds from different paths giving the same PCR0 is
 * {@link EnclaveImageReproducibilityTest} (slow).
 */
class InferenceImageTest {
  /**
   * Before issue 16 the image (a jar and lib/ of 77 jars) held 43,915 classes and 187.7 MB, DL4J/ND4J's natives
   * included; minimised with the plain-Java kernel, 5,720, and 5,004 with okio 1.x (no Kotlin runtime); then 4,1xx
   * without Jackson databind (the model card and audit trail on the streaming core, trust and enclave-runtime
   * minimised, so no host-side verifier either). The bound (with room for new code) catches a lost minimisation,
   * DL4J/ND4J back inside (thousands of classes), Netty back (2,772) or databind back (~1,000).
   */
  static final int MAX_CLASSES = 4_300;

  static Path dir;
  static Path jar;

  @BeforeAll
  static void locate() {
    String p = System.getProperty("cloister.test.inference.image");
    assertThat(p).as("system property cloister.test.inference.image (set by the cli pom)").isNotBlank();
    dir = Path.of(p);
    jar = dir.resolve(InferenceMeasurement.IMAGE_JAR);
    assertThat(jar).as("the inference image: build it with ./mvnw -pl cli -am package -DskipTests").isRegularFile();
  }

  private static List<String> names() throws Exception {
    return ImageChecks.names(jar);
  }

  @Test
  void holdsOneJarWithTheKernelAndNoDl4jNd4jNettyOrHostCode() throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      assertThat(s.map(f -> f.getFileName().toString())).as("the image directory (its tree digest is PCR0)")
          .containsExactly(InferenceMeasurement.IMAGE_JAR);
    }
    List<String> names = names();
    assertThat(names).contains("org/cloister/inference/enclave/InferenceMain.class",
        "org/cloister/inference/enclave/InferenceKernel.class", "io/grpc/okhttp/OkHttpServerBuilder.class");
    assertThat(names)
        .noneMatch(n -> n.startsWith("org/deeplearning4j/") || n.startsWith("org/nd4j/") || n.startsWith("org/bytedeco/")
            || n.startsWith("org/cloister/models/") || n.startsWith("it/unimi/"))
        .noneMatch(n -> n.startsWith("io/grpc/netty/") || n.contains("netty_tcnative") || n.contains("netty_transport_native"))
        .noneMatch(n -> n.startsWith("org/apache/commons/math3/") || n.startsWith("org/jtransforms/")
            || n.startsWith("org/bouncycastle/pqc/") && !n.endsWith("/"))
        .noneMatch(n -> n.startsWith("org/cloister/coordinator/") || n.startsWith("org/cloister/site/")
            || n.startsWith("org/cloister/cli/") || n.startsWith("org/cloister/simulations/")
            || n.startsWith("org/cloister/consortium/") || n.contains("/bench/"))
        // the data module's shipped data sets are not the enclave's
        .noneMatch(n -> n.startsWith("org/cloister/data/datasets/"))
        // the model card, the measured files and the audit trail on Jackson's streaming core: no databind
        .noneMatch(n -> n.startsWith("com/fasterxml/jackson/databind/"))
        // the enclave produces its own evidence and verifies none
        .doesNotContainAnyElementsOf(ImageChecks.HOST_ONLY_VERIFICATION);
    // no native library but JNA's dispatch stubs (device calls, the vsock bridge) for a Linux x86-64 or aarch64 guest
    assertThat(ImageChecks.nativeLibraries(names)).isEqualTo(new java.util.TreeSet<>(ImageChecks.JNA_NATIVES));
    long classes = names.stream().filter(n -> n.endsWith(".class")).count();
    assertThat(classes).as("classes in the inference image").isBetween(1_000L, (long) MAX_CLASSES);
  }

  @Test
  void carriesItsBillOfMaterialsWithVersionsAndNothingHostSide() throws Exception {
    ImageInventory inv = ImageInventory.of(jar);
    assertThat(inv.thirdParty()).as(ImageInventory.SBOM_ENTRY + " in the image").isPresent();
    List<String> artifacts = inv.thirdParty().get().stream().map(Object::toString).toList();
    assertThat(artifacts).contains("io.grpc:grpc-okhttp:1.68.1", "org.bouncycastle:bcprov-jdk18on:1.78.1",
            "com.google.code.gson:gson:2.11.0")
        .noneMatch(a -> a.startsWith("io.grpc:grpc-netty") || a.startsWith("org.deeplearning4j:")
            || a.startsWith("org.nd4j:") || a.startsWith("org.bytedeco:") || a.contains("commons-math3")
            || a.contains("JTransforms") || a.contains("junit") || a.contains("assertj")
            || a.startsWith("com.fasterxml.jackson.core:jackson-databind"));
  }

  /**
   * trust, enclave-runtime and data are minimised (not kept whole): no class of ours in the image may refer to a class
   * the image lacks (it would fail inside with NoClassDefFoundError), nor a service file name one.
   */
  @Test
  void noClassOfOursRefersToAClassTheImageLacks() throws Exception {
    assertThat(ImageChecks.danglingReferences(jar, "org.cloister.inference.enclave.InferenceMain"))
        .as("references from our classes to classes missing from the image").isEmpty();
    assertThat(ImageChecks.servicesNamingMissingClasses(jar)).as("service files naming classes the image lacks")
        .isEmpty();
  }

  @Test
  void inferMeasureReportsPcr0SizeClassesAndThirdPartyArtifacts() throws Exception {
    CloisterCommandTest.Run r = CloisterCommandTest.run("infer", "measure", "--image", dir.toString(), "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode out = new ObjectMapper().readTree(r.out());
    assertThat(out.at("/pcrs/0").asText()).isEqualTo(HexFormat.of().formatHex(CodeMeasurement.measure(dir)));
    JsonNode img = out.get("image");
    long classes = names().stream().filter(n -> n.endsWith(".class")).count();
    assertThat(img.get("classes").asLong()).isEqualTo(classes);
    assertThat(img.get("size_bytes").asLong()).isEqualTo(Files.size(jar));
    assertThat(img.get("third_party").toString()).contains("io.grpc:grpc-okhttp:1.68.1");

    CloisterCommandTest.Run text = CloisterCommandTest.run("infer", "measure", "--image", dir.toString());
    assertThat(text.code()).as(text.err()).isZero();
    assertThat(text.out()).contains(Files.size(jar) + " bytes, " + classes + " classes")
        .contains("  org.bouncycastle:bcprov-jdk18on:1.78.1");

    CloisterCommandTest.Run notAnImage = CloisterCommandTest.run("infer", "measure", "--image", dir.getParent().toString());
    assertThat(notAnImage.code()).isEqualTo(2);
    assertThat(notAnImage.err()).contains("is not an inference image directory (it holds no "
        + InferenceMeasurement.IMAGE_JAR + ")");
  }
}
