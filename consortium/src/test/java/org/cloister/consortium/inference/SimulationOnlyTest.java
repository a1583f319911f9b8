package org.cloister.consortium.inference;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimulationOnlyTest {

  @Test
  void theMarkerGovernsEverythingUnderItsDirectory(@TempDir Path dir) throws Exception {
    Path artifact = Files.createDirectories(dir.resolve("consortium/coordinator-store/s/v3")).resolve("model.bin");
    Files.write(artifact, new byte[] {1});
    assertThat(SimulationOnly.find(artifact)).isEmpty();
    SimulationOnly.mark(dir.resolve("consortium"));
    assertThat(SimulationOnly.find(artifact)).contains(dir.resolve("consortium").resolve(SimulationOnly.MARKER));
    assertThat(SimulationOnly.find(dir)).isEmpty(); // not above it
  }

  @Test
  void publishedStudiesAreSimulationOnlyUnlessTheySayOtherwise(@TempDir Path dir) throws Exception {
    new PublishedStudy("s", "logreg", 62, 30, 2, true).write(dir);
    assertThat(Files.readString(dir.resolve(PublishedStudy.FILE))).contains("\"simulation_only\" : true");
    assertThat(PublishedStudy.read(dir).isSimulationOnly()).isTrue();
    Files.writeString(dir.resolve(PublishedStudy.FILE),
        "{\"study_id\":\"s\",\"model_name\":\"logreg\",\"dimension\":62,\"num_features\":30,\"num_classes\":2}");
    assertThat(PublishedStudy.read(dir).isSimulationOnly()).as("no provenance: fail closed").isTrue();
    new PublishedStudy("s", "logreg", 62, 30, 2, false).write(dir);
    assertThat(PublishedStudy.read(dir).isSimulationOnly()).isFalse();
  }
}
