package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.protobuf.ByteString;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.runtime.EnclaveSigner;
import org.cloister.enclave.service.ReceiptIssuer;
import org.cloister.protocol.v1.AggregationReceipt;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ReceiptContribution;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.SimulatedNitroPlatform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The budget report shows the receipts and composes their central DP events into a site-level epsilon. */
class ReceiptsSectionTest {

  @Test
  void centralDpReleasesInTheReceiptsAddUpToTheSiteLevelEpsilon(@TempDir Path dir) throws Exception {
    AggregationPolicy.CentralDp dp = new AggregationPolicy.CentralDp(2.0, 3.5, 3, 4, 1e-5);
    byte[] policy = new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 4, 10, 2, 2, dp,
        AggregationPolicy.FEDAVG).toJson();
    ReceiptIssuer issuer = new ReceiptIssuer(EnclaveSigner.generate(new SecureRandom()), new SimulatedNitroPlatform(
        DevelopmentAttestationAuthority.generate(Clock.systemUTC(), new SecureRandom()), "m", Map.of(0, new byte[48], 1, new byte[48], 2, new byte[48])),
        "{}".getBytes(), policy, Clock.systemUTC());
    ModelArtifact m1 = ModelArtifact.newBuilder().setStudyId("s").setVersion(1).build();
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite:" + dir.resolve("c.db"))) {
      store.openStudy("s", "fp", m1);
      for (int round = 1; round <= 3; round++) {
        byte[] receipt = issuer.issue(AggregationReceipt.newBuilder().setStudyId("s").setRound(round).setRoundId("r" + round)
            .setModelVersion(round + 1).addContributions(ReceiptContribution.newBuilder().setSiteId("site-1")
                .setStatementSha256(ByteString.copyFrom(new byte[32])))
            .setCentralDpEvent("{\"type\":\"gaussian\",\"noise_multiplier\":3.5}").setCentralNoiseStddev(dp.meanNoiseStddev()))
            .toByteArray();
        store.commitRound("s", new RoundResult(round, "r" + round, 1, List.of("site-1"), List.of("site-1"), Map.of(),
            round + 1, true, Map.of(), 1, Map.of()), m1.toBuilder().setVersion(round + 1).build(), List.of(), receipt);
      }
      ReceiptsSection section = ReceiptsSection.of(store, "s");
      assertThat(section.lines()).hasSize(3);
      assertThat(section.releases()).isEqualTo(3);
      double expected = new RdpAccountant().compose(new GaussianEvent(3.5), 3).epsilon(1e-5);
      assertThat(section.siteLevelEpsilon()).isCloseTo(expected, within(1e-12));
      assertThat(section.centralDpSentence()).contains("Central DP (site level): epsilon")
          .contains("at delta 1e-05 over 3 noised model(s)");
      assertThat(section.html()).contains("<td>site-1</td>");
    }
  }
}
