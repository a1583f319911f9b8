package org.cloister.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.cloister.coordinator.store.StudyStore;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.DpEventJson;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.protocol.v1.AggregationReceipt;
import org.cloister.protocol.v1.ReceiptContribution;
import org.cloister.protocol.v1.SignedReceipt;

/**
 * The budget report's view of the enclave's aggregation receipts: one line per published model
 * (contributors, rejections, central noise) and the site-level epsilon of the central DP releases,
 * composed with the RDP accountant at the policy's delta. It reads the receipts as stored; their
 * signatures are checked by {@code cloister receipts verify}, which the report names.
 */
record ReceiptsSection(List<Line> lines, int releases, double siteLevelEpsilon, double delta, int unreadable) {

  record Line(int round, long modelVersion, List<String> contributors, Map<String, String> rejected,
              double centralNoiseStddev) {
  }

  static ReceiptsSection of(StudyStore store, String study) {
    List<Line> lines = new ArrayList<>();
    RdpAccountant accountant = new RdpAccountant();
    int releases = 0;
    int unreadable = 0;
    double delta = Double.NaN;
    for (StudyStore.StoredReceipt s : store.receipts(study)) {
      try {
        SignedReceipt signed = SignedReceipt.parseFrom(s.signedReceipt());
        AggregationReceipt r = AggregationReceipt.parseFrom(signed.getReceipt());
        Map<String, String> rejected = new LinkedHashMap<>();
        r.getRejectedList().forEach(x -> rejected.put(x.getSiteId(), x.getReason()));
        lines.add(new Line(r.getRound(), r.getModelVersion(),
            r.getContributionsList().stream().map(ReceiptContribution::getSiteId).toList(), rejected,
            r.getCentralNoiseStddev()));
        if (!r.getCentralDpEvent().isEmpty()) {
          accountant.compose(DpEventJson.fromJson(r.getCentralDpEvent()), 1);
          releases++;
          AggregationPolicy.CentralDp dp = AggregationPolicy.parse(signed.getAggregationPolicy().toByteArray()).centralDp();
          delta = dp == null ? delta : dp.delta();
        }
      } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
        unreadable++;
      }
    }
    double eps = releases == 0 || Double.isNaN(delta) ? Double.NaN : accountant.epsilon(delta);
    return new ReceiptsSection(List.copyOf(lines), releases, eps, delta, unreadable);
  }

  String centralDpSentence() {
    if (releases == 0) {
      return "Central DP: none recorded (no site-level guarantee beyond each site's DP-SGD)";
    }
    return String.format(Locale.ROOT, "Central DP (site level): epsilon %.3f at delta %.0e over %d noised model(s)",
        siteLevelEpsilon, delta, releases);
  }

  void printText(java.io.PrintWriter out) {
    out.printf("Aggregation receipts (signed by the enclave; check them with `cloister receipts verify`): %d%s%n",
        lines.size(), unreadable > 0 ? ", " + unreadable + " UNREADABLE" : "");
    for (Line l : lines) {
      out.printf(Locale.ROOT, "  round %d: model version %d from %s%s%s%n", l.round(), l.modelVersion(),
          String.join(", ", l.contributors()), l.rejected().isEmpty() ? "" : "; rejected " + l.rejected().keySet(),
          l.centralNoiseStddev() > 0 ? String.format(Locale.ROOT, "; central noise std %.4g", l.centralNoiseStddev()) : "");
    }
    out.println(centralDpSentence());
  }

  Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    List<Map<String, Object>> rs = new ArrayList<>();
    for (Line l : lines) {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("round", l.round());
      x.put("model_version", l.modelVersion());
      x.put("contributors", l.contributors());
      x.put("rejected", l.rejected());
      x.put("central_noise_stddev", l.centralNoiseStddev());
      rs.add(x);
    }
    m.put("receipts", rs);
    m.put("unreadable", unreadable);
    m.put("central_dp_releases", releases);
    m.put("site_level_epsilon", Double.isFinite(siteLevelEpsilon) ? siteLevelEpsilon : null);
    m.put("site_level_delta", Double.isFinite(delta) ? delta : null);
    return m;
  }

  String html() {
    StringBuilder b = new StringBuilder("<h2>Aggregation receipts</h2><p>Signed by the enclave; check them with "
        + "<code>cloister receipts verify</code>. " + escape(centralDpSentence()) + ".</p><table><tr><th>round</th>"
        + "<th>model version</th><th>contributors</th><th>rejected</th><th>central noise std</th></tr>");
    for (Line l : lines) {
      b.append("<tr><td>").append(l.round()).append("</td><td>").append(l.modelVersion()).append("</td><td>")
          .append(escape(String.join(", ", l.contributors()))).append("</td><td>")
          .append(escape(String.join(", ", l.rejected().keySet()))).append("</td><td>")
          .append(l.centralNoiseStddev() > 0 ? String.format(Locale.ROOT, "%.4g", l.centralNoiseStddev()) : "-")
          .append("</td></tr>");
    }
    return b.append("</table>\n").toString();
  }

  private static String escape(String s) {
    return org.cloister.simulations.report.Html.esc(s);
  }
}
