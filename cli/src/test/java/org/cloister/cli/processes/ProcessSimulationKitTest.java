package org.cloister.cli.processes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.cloister.data.BadRowPolicy;
import org.cloister.data.CsvDatasetLoader;
import org.cloister.data.CsvOptions;
import org.cloister.data.Dataset;
import org.cloister.data.MissingRule;
import org.cloister.data.ModelCard;
import org.cloister.data.StudySchema;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.simulations.DpSettings;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * {@code simulate --mode processes} writes each hospital's kit so that the site, reading it as
 * {@code site start} does (its {@code data.csv} through the kit's model card), trains on exactly the
 * inputs the in-process simulation gives that site: the study's preprocessing runs once.
 */
class ProcessSimulationKitTest {

  private static SimulationConfig.Builder config(Path out) {
    return SimulationConfig.builder().studyId("kit-check").sites(3).rounds(2).seed(11)
        .dp(DpSettings.budget(3.0, 1e-5, 1.0)).roundDeadline(Duration.ofSeconds(30)).outDir(out);
  }

  /** What {@code site start} trains on: data.csv read with the schema of site.yaml and transformed by the kit's model card. */
  @SuppressWarnings("unchecked")
  private static Dataset asTheSiteReadsIt(Path kit) throws Exception {
    Map<String, Object> site = new Yaml().load(Files.readString(kit.resolve("site.yaml")));
    Map<String, Object> data = (Map<String, Object>) site.get("data");
    assertThat(data.get("preprocessing")).isEqualTo(ModelCard.FILE);
    ModelCard card = ModelCard.parse(Files.readAllBytes(kit.resolve(ModelCard.FILE)), "model-card.json");
    List<String> classes = ((List<Object>) data.get("classes")).stream().map(String::valueOf).toList();
    Dataset raw = new CsvDatasetLoader(new StudySchema(card.preprocessing().features(), (String) data.get("label"), classes),
        BadRowPolicy.FAIL).load(kit.resolve((String) data.get("csv"))).dataset();
    return card.preprocessing().resolvePublic().apply(raw);
  }

  private static Path kits(SimulationConfig cfg, SimulationData data, Path dir) throws Exception {
    Path image = Files.writeString(dir.resolve("stand-in-enclave.jar"), "a stand-in image: provisioning only measures it");
    Path out = Files.createDirectories(dir.resolve("out"));
    return new ProcessSimulation(cfg, r -> { }).writeKits(data, image, Files.createDirectories(out.resolve("deployment")), out,
        DpConfig.newBuilder().setNoiseMultiplier(1.0).setClipNorm(1.0).build());
  }

  @Test
  void eachSiteAppliesTheStudysPreprocessingOnceAndTrainsOnTheInProcessInputs(@TempDir Path dir) throws Exception {
    SimulationConfig cfg = config(dir).build();
    SimulationData data = SimulationData.prepare(cfg);
    Path kits = kits(cfg, data, dir);
    for (int s = 0; s < 3; s++) {
      Dataset atSite = asTheSiteReadsIt(kits.resolve("site-" + (s + 1)));
      Dataset inProcess = data.sitePartitions().get(s);
      assertThat(atSite.size()).isEqualTo(inProcess.size());
      assertThat(atSite.labels()).containsExactly(inProcess.labels());
      for (int i = 0; i < atSite.size(); i++) {
        assertThat(atSite.features()[i]).as("site %d row %d", s + 1, i).containsExactly(inProcess.features()[i]);
      }
    }
    ModelCard card = ModelCard.parse(Files.readAllBytes(kits.resolve("evaluator").resolve(ModelCard.FILE)), "card");
    assertThat(card.classNames()).containsExactly("benign", "malignant");
  }

  @Test
  void aMessyCsvStudyShipsItsOwnRulesAndRawRowsNotWdbcs(@TempDir Path dir) throws Exception {
    StringBuilder csv = new StringBuilder("record_id;age;crp;outcome\n");
    java.util.Random rnd = new java.util.Random(3);
    for (int i = 0; i < 120; i++) {
      int y = i % 2;
      csv.append("R").append(i).append(';').append(30 + rnd.nextInt(50)).append(';')
          .append(i % 17 == 0 ? "NA" : String.valueOf(1 + rnd.nextInt(100) + 40 * y)).append(';').append(y).append('\n');
    }
    Path file = Files.writeString(dir.resolve("messy.csv"), csv);
    SimulationConfig cfg = config(dir).dataset("csv:" + file).labelColumn("outcome")
        .preprocessing(org.cloister.data.PreprocessingSpec.parse(Map.of("age", Map.of("bounds", List.of(18, 100)),
            "crp", Map.of("log_bounds", List.of(0.1, 300))), "test"))
        .csv(new CsvOptions(';', List.of("record_id"), List.of("NA"), MissingRule.FAIL,
            Map.of("crp", MissingRule.parse("constant:10"))))
        .build();
    SimulationData data = SimulationData.prepare(cfg);
    Path kits = kits(cfg, data, dir);
    Dataset atSite = asTheSiteReadsIt(kits.resolve("site-2"));
    assertThat(atSite.featureNames()).containsExactly("age", "crp");
    for (int i = 0; i < atSite.size(); i++) {
      assertThat(atSite.features()[i]).containsExactly(data.sitePartitions().get(1).features()[i]);
    }
    // a centre rule leaves the value missing for the site, whose site.yaml cannot declare it: refused, naming the column
    SimulationConfig centre = cfg.toBuilder().csv(new CsvOptions(';', List.of("record_id"), List.of("NA"), MissingRule.FAIL,
        Map.of("crp", MissingRule.CENTRE))).build();
    assertThatThrownBy(() -> kits(centre, SimulationData.prepare(centre), Files.createDirectories(dir.resolve("centre"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'crp'").hasMessageContaining("centre");
  }
}
