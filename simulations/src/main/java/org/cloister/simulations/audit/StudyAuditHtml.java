package org.cloister.simulations.audit;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The study report's audit section: per site, the empirical lower bound beside the planned epsilon. */
public final class StudyAuditHtml {
  private StudyAuditHtml() {
  }

  /** A self-contained HTML fragment (numbers and fixed words only: nothing to escape). */
  public static String section(List<Map<String, Object>> audits) {
    StringBuilder b = new StringBuilder("<section id=\"audit\">\n<h2>Empirical privacy audit (gradient canaries)</h2>\n"
        + "<p>A lower bound on epsilon at the stated confidence, beside the accountant's (planned) epsilon. "
        + "A test of the implementation, not a proof of privacy.</p>\n"
        + "<table id=\"audit-table\"><thead><tr><th>site</th><th>canaries</th><th>epsilon lower bound</th>"
        + "<th>confidence</th><th>planned epsilon (accountant)</th><th>verdict</th></tr></thead><tbody>\n");
    for (Map<String, Object> a : audits) {
      b.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%s</td><td>%.3f</td><td>%s</td><td>%.3f</td><td>%s</td></tr>%n",
          a.get("site"), a.get("canaries"), ((Number) a.get("epsilon_lower_bound")).doubleValue(), a.get("confidence"),
          ((Number) a.get("epsilon_upper_bound")).doubleValue(), a.get("verdict")));
    }
    return b.append("</tbody></table>\n</section>\n").toString();
  }
}
