package org.cloister.simulations.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.SplittableRandom;
import org.cloister.audit.OneRunAuditor;
import org.cloister.simulations.audit.AuditHtml;
import org.cloister.simulations.audit.AuditOutcome;
import org.cloister.simulations.audit.AuditSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit page renders in headless Chromium with no console message (like the study report). */
class AuditHtmlBrowserTest {
  @Test
  void auditPageRendersInChromium(@TempDir Path dir) throws Exception {
    SplittableRandom rnd = new SplittableRandom(5);
    int m = 400;
    double[] scores = new double[m];
    boolean[] in = new boolean[m];
    for (int i = 0; i < m; i++) {
      in[i] = rnd.nextBoolean();
      scores[i] = rnd.nextDouble() + (in[i] ? 0.5 : 0);
    }
    AuditSettings s = new AuditSettings("logreg", m, 1, 1, 1, 0.1, 100, 1e-5, 0.05, 0.1, 5);
    AuditOutcome o = new AuditOutcome("gradient", s, new OneRunAuditor(0.05, 1e-5).audit(scores, in), 7.9,
        AuditOutcome.CONSISTENT, scores, in, 1.0);
    String dom = HtmlReportTest.renderInChromium(AuditHtml.render(o), dir.resolve("audit.html"));
    assertThat(dom).contains("consistent", "<svg", "<path", "<circle");
  }
}
