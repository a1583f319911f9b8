package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.cloister.coordinator.budget.BudgetReport;
import org.junit.jupiter.api.Test;

/**
 * The budget page says what it is about (generation time, ledger head, verification status, the
 * study's status, the accountant) and its chart follows the reports' rules: whole-number round ticks,
 * epsilon ticks with values from 0 up, the legend right of the plot area.
 */
class BudgetHtmlStructureTest {

  private static BudgetReport.SiteBudget site(String id, double ceiling, int rounds) {
    List<BudgetReport.Point> history = new ArrayList<>();
    for (int r = 1; r <= rounds; r++) {
      history.add(new BudgetReport.Point(r, "round-" + r, "{}", ceiling * r / rounds, ceiling * r / rounds, "aggregated"));
    }
    return new BudgetReport.SiteBudget(id, 1e-5, ceiling, ceiling, ceiling, history, Map.of(), "ds-" + id, ceiling, 1,
        Map.of("aggregated", rounds), null);
  }

  private static List<String> values(String svg, String cls) {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("<text class=\"" + cls + "\" data-value=\"([^\"]+)\"").matcher(svg);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  @Test
  void thePageNamesItsStatusAndItsChartTicksWholeRounds() {
    String html = BudgetHtml.render(new BudgetHtml.Meta("study-x", "finished: 3 rounds completed", "pld",
        "ab12cd34", Instant.parse("2026-12-05T03:00:00Z"), List.of(new BudgetReport.Check("ledger", true, "9 entries", List.of()))),
        List.of(site("site-1", 3.0, 3), site("a-hospital-with-a-long-name", 2.0, 3)));
    assertThat(html).contains("Study status: finished: 3 rounds completed").contains("Generated 2026-12-05T03:00:00Z")
        .contains("Accountant: pld").contains("Ledger head: <code>ab12cd34</code>").contains("ledger verified");
    String svg = html.substring(html.indexOf("<svg id=\"epsilon-chart\""), html.indexOf("</svg>"));
    assertThat(values(svg, "tick x")).containsExactly("1", "2", "3");
    assertThat(values(svg, "tick y")).isNotEmpty().allSatisfy(v -> assertThat(Double.parseDouble(v)).isGreaterThanOrEqualTo(0));
    Matcher plot = Pattern.compile("<rect class=\"plot\" x=\"(\\d+)\" y=\"\\d+\" width=\"(\\d+)\"").matcher(svg);
    assertThat(plot.find()).isTrue();
    int right = Integer.parseInt(plot.group(1)) + Integer.parseInt(plot.group(2));
    Matcher legend = Pattern.compile("<g class=\"legend\" data-x=\"(\\d+)\">").matcher(svg);
    assertThat(legend.find()).isTrue();
    assertThat(Integer.parseInt(legend.group(1))).isGreaterThan(right);
    int width = Integer.parseInt(svg.replaceAll("(?s).*?width=\"(\\d+)\".*", "$1"));
    assertThat(right + 10 + 32 + "a-hospital-with-a-long-name ceiling".length() * 6.5).isLessThanOrEqualTo(width);
  }
}
