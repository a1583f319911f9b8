package org.cloister.cli.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.budget.PrivacyMetrics;
import org.cloister.coordinator.rounds.CoordinatorMetrics;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.junit.jupiter.api.Test;

/**
 * Every series deploy/grafana/cloister-coordinator.json queries is one the coordinator exports:
 * the names come from a scrape of the coordinator's own metrics (CoordinatorMetrics, PrivacyMetrics)
 * after a round, a rejection and a refusal, not from a list kept by hand.
 */
class GrafanaDashboardTest {

  private static Path dashboard() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path p = d.resolve("deploy/grafana/cloister-coordinator.json");
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new IllegalStateException("deploy/grafana/cloister-coordinator.json not found");
  }

  @Test
  void everyQueriedSeriesIsExportedByTheCoordinator() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CoordinatorMetrics metrics = new CoordinatorMetrics(registry);
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite::memory:")) {
      PrivacyBudgets budgets = new PrivacyBudgets(new PrivacyBudgets.Ceiling(3.0, 1e-5), Map.of());
      PrivacyMetrics privacy = new PrivacyMetrics(registry, new BudgetGuard(budgets, store, "s", RdpAccountant::new), budgets);
      RoundResult round = new RoundResult(1, "r1", 1, List.of("site-1", "site-2"), List.of("site-1"),
          Map.of("site-2", "not_finite: NaN"), 2, true, Map.of("site-1", Map.of("epsilon", 0.1)), 12, Map.of());
      metrics.watchStudy(() -> 3, () -> 2, 10, () -> 2, 3);
      metrics.updateAccepted("site-1", 1024);
      metrics.refused("SubmitUpdate", "late");
      metrics.roundCompleted(round);
      metrics.roundCompleted(new RoundResult(2, "r2", 1, List.of("site-1"), List.of(), Map.of(), 2, false, Map.of(), 5, Map.of()));
      privacy.roundCompleted(round);
    }
    Set<String> exported = new TreeSet<>();
    for (String line : registry.scrape().split("\n")) {
      if (!line.startsWith("#") && !line.isBlank()) {
        exported.add(line.split("[{ ]", 2)[0]);
      }
    }

    Set<String> queried = new TreeSet<>();
    Pattern series = Pattern.compile("cloister_[a-z_]+");
    for (JsonNode panel : new ObjectMapper().readTree(dashboard().toFile()).get("panels")) {
      for (JsonNode target : panel.get("targets")) {
        Matcher m = series.matcher(target.get("expr").asText());
        while (m.find()) {
          queried.add(m.group());
        }
      }
    }
    assertThat(queried).contains("cloister_privacy_epsilon", "cloister_round_duration_seconds_count",
        "cloister_updates_rejected_total", "cloister_round_no_quorum_total", "cloister_study_current_round",
        "cloister_sites_joined", "cloister_sites_rostered");
    // the study's progress and sites, read at the scrape
    assertThat(registry.scrape()).contains("cloister_study_current_round 3.0").contains("cloister_study_rounds_completed 2.0")
        .contains("cloister_sites_joined 2.0").contains("cloister_sites_rostered 3.0");
    assertThat(exported).containsAll(queried);
  }
}
