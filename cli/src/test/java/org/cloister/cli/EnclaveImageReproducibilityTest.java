package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.cloister.enclave.runtime.CodeMeasurement;
import org.cloister.enclave.runtime.ImageInventory;
import org.cloister.inference.enclave.InferenceMeasurement;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two clean builds of the enclave images (the secure aggregator's and the inference enclave's) from
 * copies of this source tree at two different paths give the same bytes, so the same PCR0: a
 * consortium member can rebuild an image and compare. Slow (two offline builds of the enclaves'
 * modules): {@code ./mvnw -o -pl cli -Pslow test -Dtest=EnclaveImageReproducibilityTest}.
 */
@Tag("slow")
class EnclaveImageReproducibilityTest {
  private static final String IMAGE = "secure-aggregator-enclave/target/secure-aggregator-enclave-0.1.0-SNAPSHOT-image.jar";
  private static final String INFERENCE_IMAGE = "inference-enclave/target/image";

  @Test
  void twoCleanBuildsOnDifferentPathsGiveTheSamePcr0(@TempDir Path tmp) throws Exception {
    Path root = repositoryRoot();
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("second-checkout").resolve("elsewhere");
    copySources(root, a);
    copySources(root, b);
    String pcr0a = sha384(build(a).resolve(IMAGE));
    String pcr0b = sha384(build(b).resolve(IMAGE));
    assertThat(pcr0b).as("PCR0 of the image built in " + b + " vs " + a).isEqualTo(pcr0a);
    // both builds are offline (-o): the image still carries its bill of materials (CycloneDX's makeBom, used
    // before, was skipped under -o, and an offline image then lacked it and had another PCR0 than an online one)
    ImageInventory inv = ImageInventory.of(a.resolve(IMAGE));
    assertThat(inv.thirdParty()).as(ImageInventory.SBOM_ENTRY + " in the offline-built image").isPresent();
    assertThat(inv.thirdParty().get()).extracting(Object::toString).contains("io.grpc:grpc-okhttp:1.68.1");
    // the inference enclave's image directory (PCR0 is its tree digest): the same bytes too
    String inferenceA = HexFormat.of().formatHex(CodeMeasurement.measure(a.resolve(INFERENCE_IMAGE)));
    String inferenceB = HexFormat.of().formatHex(CodeMeasurement.measure(b.resolve(INFERENCE_IMAGE)));
    assertThat(inferenceB).as("PCR0 of the inference image built in " + b + " vs " + a).isEqualTo(inferenceA);
    assertThat(ImageInventory.of(a.resolve(INFERENCE_IMAGE).resolve(InferenceMeasurement.IMAGE_JAR)).thirdParty())
        .as("the offline-built inference image's bill of materials").isPresent();
  }

  private static Path repositoryRoot() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("mvnw")) && Files.isDirectory(p.resolve("secure-aggregator-enclave"))) {
        return p;
      }
    }
    throw new IllegalStateException("no repository root (with mvnw) above " + Path.of("").toAbsolutePath());
  }

  private static void copySources(Path root, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        Path rel = root.relativize(p);
        if (rel.toString().isEmpty()) {
          continue;
        }
        String first = rel.getName(0).toString();
        boolean skip = first.equals(".git") || first.startsWith(".") && !first.equals(".mvn");
        for (Path part : rel) {
          skip |= part.toString().equals("target");
        }
        if (skip) {
          continue;
        }
        Path dest = to.resolve(rel.toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(dest);
        } else {
          Files.createDirectories(dest.getParent());
          Files.copy(p, dest, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }

  private static Path build(Path dir) throws Exception {
    Path log = dir.resolve("build.log");
    Process p = new ProcessBuilder(List.of("./mvnw", "-o", "-B", "-q", "-pl", "secure-aggregator-enclave,inference-enclave", "-am",
        "package", "-DskipTests")).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertThat(p.waitFor(15, TimeUnit.MINUTES)).as("build in " + dir + " finished").isTrue();
    assertThat(p.exitValue()).as("build in " + dir + ": " + Files.readString(log)).isZero();
    return dir;
  }

  private static String sha384(Path f) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-384").digest(Files.readAllBytes(f)));
  }
}
