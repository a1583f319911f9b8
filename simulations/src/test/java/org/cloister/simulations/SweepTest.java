package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SweepTest {

  @Test
  void parsesAxesAndRefusesBadOnesNamingTheProblem() {
    assertThat(SweepAxis.parse("epsilon=0.5,1,2,4,8").values()).containsExactly("0.5", "1", "2", "4", "8");
    assertThat(SweepAxis.parse("Sampling-Rate=0.1, 0.2").name()).isEqualTo("sampling_rate");
    assertThatThrownBy(() -> SweepAxis.parse("epsilon")).hasMessageContaining("NAME=V1,V2");
    assertThatThrownBy(() -> SweepAxis.parse("gamma=1,2")).hasMessageContaining("unknown parameter 'gamma'");
    assertThatThrownBy(() -> SweepAxis.parse("epsilon=1,x")).hasMessageContaining("'x' is not a number");
    assertThatThrownBy(() -> SweepAxis.parse("epsilon=1,-2")).hasMessageContaining("must be > 0");
    assertThatThrownBy(() -> SweepAxis.parse("sites=3,2.5")).hasMessageContaining("'2.5' is not a whole number");
    assertThatThrownBy(() -> SweepAxis.parse("epsilon=1,,2")).hasMessageContaining("empty value");
    assertThatThrownBy(() -> SweepAxis.parse("alpha=1,1")).hasMessageContaining("repeated value");
    assertThatThrownBy(() -> new Sweep(List.of(SweepAxis.parse("epsilon=1"), SweepAxis.parse("epsilon=2"))))
        .hasMessageContaining("given twice");
    assertThatThrownBy(() -> new Sweep(List.of(SweepAxis.parse("epsilon=1"), SweepAxis.parse("noise_multiplier=2"))))
        .hasMessageContaining("cannot both");
  }

  @Test
  void clipNeedsDp() {
    Sweep s = new Sweep(List.of(SweepAxis.parse("clip=0.5,1")));
    assertThatThrownBy(() -> s.configs(SimulationConfig.builder())).hasMessageContaining("--sweep clip needs DP-SGD");
  }

  @Test
  void gridIsTheCartesianProductWithOneFolderPerPoint(@TempDir Path out) {
    Sweep s = new Sweep(List.of(SweepAxis.parse("epsilon=1,4"), SweepAxis.parse("alpha=0.1,0.5,10"), SweepAxis.parse("sites=5")));
    var grid = s.configs(SimulationConfig.builder().sites(3).minSitesPerRound(3).outDir(out));
    assertThat(grid).hasSize(6);
    SimulationConfig first = grid.get(0).getValue();
    assertThat(first.dp().epsilon()).isEqualTo(1.0);
    assertThat(first.dp().delta()).isEqualTo(1e-5); // epsilon on a non-private base turns DP on with defaults
    assertThat(first.partition()).isEqualTo("dirichlet:0.1");
    assertThat(first.sites()).isEqualTo(5);
    assertThat(first.minSitesPerRound()).isEqualTo(4); // the default quorum for 5 sites, not the base's 3
    assertThat(first.outDir()).isEqualTo(out.resolve("epsilon-1_alpha-0.1_sites-5"));
    SimulationConfig last = grid.get(5).getValue();
    assertThat(last.dp().epsilon()).isEqualTo(4.0);
    assertThat(last.partition()).isEqualTo("dirichlet:10.0");
    assertThat(grid.stream().map(e -> e.getValue().outDir()).distinct()).hasSize(6);
  }

  @Test
  void writesAPrivacyUtilityTable(@TempDir Path out) throws Exception {
    Sweep s = new Sweep(List.of(SweepAxis.parse("epsilon=1,4")));
    List<Sweep.Point> points = s.run(SimulationConfig.builder().outDir(out), cfg ->
        SyntheticResults.study(3, 3, cfg.dp().epsilon(), 0.9 + cfg.dp().epsilon() / 100, cfg.outDir()));
    assertThat(points).extracting(p -> p.values().get("epsilon")).containsExactly("1", "4");
    assertThat(points.get(1).maxEpsilon()).isEqualTo(4.0);
    Path csv = s.write(points, out);
    List<String> lines = Files.readAllLines(csv);
    assertThat(lines.get(0)).startsWith("epsilon,accuracy,auc,loss,max_epsilon,delta,noise_multiplier,status,wall_s,out");
    assertThat(lines).hasSize(3);
    assertThat(lines.get(2)).startsWith("4,0.940000,");
    Map<?, ?> json = new com.fasterxml.jackson.databind.ObjectMapper().readValue(out.resolve("sweep.json").toFile(), Map.class);
    assertThat((List<?>) json.get("points")).hasSize(2);
  }
}
