package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** simulate --engine inprocess on a generated consortium: private by default, readable output for many sites. */
class SimulateEngineCommandTest {

  @Test
  void manySitesInProcessGiveDistributionsAndSitesCsvNotOneLinePerSite(@TempDir Path dir) throws Exception {
    var r = CloisterCommandTest.run("simulate", "--engine", "inprocess", "--workers", "2", "--dataset",
        "synthetic:examples=40,tail=0", "--sites", "120", "--rounds", "2", "--local-steps", "2", "--out", dir.toString());
    assertThat(r.code()).as(r.err()).isEqualTo(0);
    assertThat(r.err()).contains("No DP settings given: DP-SGD within epsilon 3.0"); // private by default on every engine
    assertThat(r.out()).contains("inprocess engine").contains("120 hospitals")
        .contains("round  2/2  sites 120/120").contains("sites/s, ETA")
        .contains("120 sites (min / median / max): training examples 40 / 40 / 40, rounds contributed 2 / 2 / 2")
        .contains("epsilon per site at delta 1e-05: min 2.998")
        .doesNotContain("site-17 ");
    assertThat(r.out().lines().count()).isLessThan(15);
    assertThat(Files.readAllLines(dir.resolve("sites.csv"))).hasSize(121);
    assertThat(Files.readString(dir.resolve("results.json"))).contains("\"per_site\" : \"sites.csv\"");
  }

  @Test
  void moreSitesThanTheDefaultDatasetHoldsGetTheSyntheticCohortSaidSo(@TempDir Path dir) throws Exception {
    var r = CloisterCommandTest.run("simulate", "--engine", "inprocess", "--workers", "2", "--sites", "500", "--rounds", "2",
        "--local-steps", "1", "--out", dir.toString());
    assertThat(r.code()).as(r.err()).isEqualTo(0);
    assertThat(r.err()).contains("No dataset given and builtin:wdbc is too small (500 sites but only 456 rows): using"
        + " --dataset synthetic:tail=0");
    assertThat(r.out()).contains("500 hospitals").contains("synthetic:tail=0").contains("round  2/2  sites 500/500");
  }

  @Test
  void anUnknownEngineOrSparkWithoutItsModuleIsAUsageError() {
    var r = CloisterCommandTest.run("simulate", "--engine", "ray");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--engine must be grpc, inprocess or spark, got 'ray'");
    var r2 = CloisterCommandTest.run("simulate", "--engine", "inprocess", "--mode", "processes");
    assertThat(r2.code()).isEqualTo(2);
    assertThat(r2.err()).contains("--mode processes").contains("--engine inprocess");
    var r3 = CloisterCommandTest.run("simulate", "--engine", "spark", "--secure-aggregation");
    assertThat(r3.code()).isEqualTo(2);
    assertThat(r3.err()).contains("--secure-aggregation is for --engine inprocess");
  }

  @Test
  void secureAggregationInProcessSealsEveryUpdate(@TempDir Path dir) throws Exception {
    var r = CloisterCommandTest.run("simulate", "--engine", "inprocess", "--secure-aggregation", "--workers", "2", "--dataset",
        "synthetic:examples=40,tail=0", "--sites", "6", "--rounds", "2", "--local-steps", "2", "--out", dir.toString());
    assertThat(r.code()).as(r.err()).isEqualTo(0);
    assertThat(r.out()).contains("round  2/2  sites 6/6");
  }
}
