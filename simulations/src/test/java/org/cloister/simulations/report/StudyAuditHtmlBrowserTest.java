package org.cloister.simulations.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.simulations.audit.StudyAuditHtml;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The study report's audit table renders in headless Chromium (skipped when Chromium is absent). */
class StudyAuditHtmlBrowserTest {

  @Test
  void auditTableRendersBesideThePlannedEpsilon(@TempDir Path dir) throws Exception {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("site", 0);
    a.put("canaries", 200);
    a.put("epsilon_lower_bound", 0.25);
    a.put("confidence", 0.95);
    a.put("epsilon_upper_bound", 4.0);
    a.put("verdict", "consistent");
    String section = StudyAuditHtml.section(List.of(a));
    assertThat(section).contains("<td>0.250</td>", "<td>4.000</td>", "consistent").doesNotContain("<script");
    String dom = HtmlReportTest.renderInChromium("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>t</title>"
        + "</head><body>" + section + "</body></html>", dir.resolve("audit-section.html"));
    assertThat(dom).contains("audit-table", "0.250", "4.000", "consistent");
  }
}
