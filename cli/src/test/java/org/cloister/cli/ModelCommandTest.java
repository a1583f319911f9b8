package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** model export / evaluate refuse bad input by name before opening anything (the full path: DeploymentWalkthroughTest). */
class ModelCommandTest {

  @Test
  void anUnknownFormatAKitWithoutItsModelCardAndAnOutputFolderInUseAreUsageErrors(@TempDir Path dir) throws Exception {
    Path kit = Files.createDirectories(dir.resolve("site-1"));
    Files.writeString(kit.resolve("site.crt"), "");
    Files.writeString(kit.resolve("sealing.key"), "");
    CloisterCommandTest.Run onnx = CloisterCommandTest.run("model", "export", "--kit", kit.toString(), "--database",
        dir.resolve("c.db").toString(), "--sealed-models", dir.toString(), "--format", "onnx", "--out",
        dir.resolve("e").toString());
    assertThat(onnx.code()).isEqualTo(2);
    assertThat(onnx.err()).contains("--format must be dl4j or json, got 'onnx'");
    CloisterCommandTest.Run noCard = CloisterCommandTest.run("model", "export", "--kit", kit.toString(), "--database",
        dir.resolve("c.db").toString(), "--sealed-models", dir.toString(), "--out", dir.resolve("e").toString());
    assertThat(noCard.code()).isEqualTo(2);
    assertThat(noCard.err()).contains("model-card.json not found");
    Files.createDirectories(dir.resolve("used"));
    Files.writeString(dir.resolve("used/model.zip"), "an earlier export");
    CloisterCommandTest.Run used = CloisterCommandTest.run("model", "export", "--kit", kit.toString(), "--database",
        dir.resolve("c.db").toString(), "--sealed-models", dir.toString(), "--out", dir.resolve("used").toString());
    assertThat(used.code()).isEqualTo(2);
    assertThat(used.err()).contains("exists and is not empty");
    assertThat(Files.readString(dir.resolve("used/model.zip"))).isEqualTo("an earlier export");
  }
}
