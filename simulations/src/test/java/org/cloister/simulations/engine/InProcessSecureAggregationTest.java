package org.cloister.simulations.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.protobuf.ByteString;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.cloister.coordinator.aggregation.AggregationResult;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.aggregation.AggregationSession;
import org.cloister.enclave.aggregation.ContributionVerifier;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.cloister.simulations.ConsortiumCredentials;
import org.cloister.simulations.DpSettings;
import org.cloister.simulations.RoundReport;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationData;
import org.cloister.simulations.SimulationResult;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.ledger.SpendSigner;
import org.cloister.site.sealing.AttestedHpkeSealer;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.pki.IssuedCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --engine inprocess --secure-aggregation}: sites seal their updates with HPKE and sign
 * contribution statements; the enclave's {@link ContributionVerifier} and {@link AggregationSession}
 * aggregate them in-process ({@link InProcessEnclave}). Same study, same seed: the same model (to
 * float rounding) and the same privacy ledger as the plaintext in-process run; a sealed update the
 * host altered, relabelled or replayed is refused with the enclave's reason.
 */
class InProcessSecureAggregationTest {
  private static final int DIM = 40;

  private static SimulationConfig study(Path out) {
    return SimulationConfig.builder().studyId("secure-inprocess").sites(4).partition("dirichlet:0.5").rounds(3).localEpochs(1)
        .seed(11).minSitesPerRound(3).dp(DpSettings.budget(2.0, 1e-5, 1.0)).outDir(out).build();
  }

  @Test
  void secureRunGivesThePlainRunsModelAndLedger(@TempDir Path out) throws Exception {
    SimulationConfig plainCfg = study(out.resolve("plain"));
    SimulationResult plain = new InProcessSimulation(plainCfg, SiteSource.of(SimulationData.prepare(plainCfg)),
        InProcessSimulation.pool(2), r -> { }, false).run();
    SimulationConfig secureCfg = study(out.resolve("secure"));
    SimulationResult secure = new InProcessSimulation(secureCfg, SiteSource.of(SimulationData.prepare(secureCfg)),
        InProcessSimulation.pool(2), r -> { }, true).run();

    assertThat(secure.status()).startsWith("finished").isEqualTo(plain.status());
    assertThat(secure.rounds()).hasSize(3).hasSameSizeAs(plain.rounds());
    for (int i = 0; i < plain.rounds().size(); i++) {
      RoundReport a = plain.rounds().get(i);
      RoundReport b = secure.rounds().get(i);
      assertThat(b.sites()).containsExactlyInAnyOrderElementsOf(a.sites()).hasSize(4);
      assertThat(b.loss()).as("round %d test loss", a.round()).isCloseTo(a.loss(), within(1e-5));
      assertThat(b.siteEpsilon()).isEqualTo(a.siteEpsilon());
    }
    assertThat(secure.finalMetrics().logLoss()).isCloseTo(plain.finalMetrics().logLoss(), within(1e-5));
    assertThat(secure.sites()).isEqualTo(plain.sites());
    assertThat(ledger(secureCfg)).hasSize(4 * 3).isEqualTo(ledger(plainCfg));
  }

  /** Three sites, one round, sealed and signed by hand with the site agent's own sealer and signer. */
  private static final class Round {
    final ConsortiumCredentials pki = ConsortiumCredentials.ephemeral("test", Duration.ofHours(1));
    final KernelAggregator kernel = new KernelAggregator(DIM, 10.0, 2, AggregationPolicy.FEDAVG);
    final InProcessEnclave enclave = new InProcessEnclave(kernel, new AggregationPolicy(AggregationPolicy.FORMAT, "s",
        "logreg", DIM, 10.0, 2, 2, null, AggregationPolicy.FEDAVG), List.of("site-1", "site-2", "site-3"),
        pki.caCertificate(), new SecureRandom());
    final ModelArtifact model;
    final RoundTask task;
    final List<float[]> deltas = new ArrayList<>();
    final long[] weights = {30, 50, 70};

    Round() {
      float[] w = new float[DIM];
      SplittableRandom rnd = new SplittableRandom(5);
      for (int i = 0; i < DIM; i++) {
        w[i] = (float) rnd.nextGaussian();
      }
      byte[] payload = FloatCodec.encode(w);
      model = ModelArtifact.newBuilder().setStudyId("s").setVersion(1).setDimension(DIM).setFormat(FloatCodec.WEIGHTS_F32LE)
          .setPayload(ByteString.copyFrom(payload)).setSha256(ByteString.copyFrom(FloatCodec.sha256(payload))).build();
      task = RoundTask.newBuilder().setStudyId("s").setRound(1).setRoundId("r-1").setModel(model).build();
      for (int s = 0; s < 3; s++) {
        float[] d = new float[DIM];
        for (int i = 0; i < DIM; i++) {
          d[i] = (float) (0.1 * rnd.nextGaussian());
        }
        deltas.add(d);
      }
    }

    List<ReceivedUpdate> sealed() throws Exception {
      ContributionVerifier.OpenRound open = enclave.open(task);
      Hpke hpke = new Hpke();
      List<ReceivedUpdate> out = new ArrayList<>();
      for (int s = 0; s < 3; s++) {
        String id = "site-" + (s + 1);
        IssuedCertificate cert = pki.issue(id);
        SpendSigner signer = new SpendSigner(id, cert.privateKey(), cert.certificate(), 1e-5, "dataset-" + id);
        LocalUpdate u = new LocalUpdate(deltas.get(s), weights[s], Map.of(), new GaussianEvent(1.0), 0.5);
        byte[] aad = AttestedHpkeSealer.aad("s", 1, "r-1", id, 1, DIM);
        byte[] payload = hpke.sealStream(enclave.publicKey(), AggregationSession.UPDATE_INFO, aad, FloatCodec.encode(deltas.get(s)));
        var spend = signer.sign(task, u);
        UpdateEnvelope env = UpdateEnvelope.newBuilder().setStudyId("s").setRound(1).setRoundId("r-1").setBaseModelVersion(1)
            .setNumExamples(weights[s]).setPayloadFormat(AggregationSession.UPDATE_FORMAT).setPayload(ByteString.copyFrom(payload))
            .setSpend(spend).setContribution(signer.signContribution(task, weights[s], AggregationSession.UPDATE_FORMAT, payload,
                open.challenge(), open.baseModelSha256(), spend)).build();
        out.add(new ReceivedUpdate(id, env, null));
      }
      return out;
    }

    List<ReceivedUpdate> plaintext() {
      List<ReceivedUpdate> out = new ArrayList<>();
      for (int s = 0; s < 3; s++) {
        out.add(new ReceivedUpdate("site-" + (s + 1), UpdateEnvelope.newBuilder().setStudyId("s").setRound(1).setRoundId("r-1")
            .setBaseModelVersion(1).setNumExamples(weights[s]).setPayloadFormat(FloatCodec.DELTA_F32LE)
            .setPayload(ByteString.copyFrom(FloatCodec.encode(deltas.get(s)))).build(), null));
      }
      return out;
    }
  }

  @Test
  void sealedRoundPublishesExactlyThePlaintextKernelsModel() throws Exception {
    Round r = new Round();
    AggregationResult secure = r.enclave.aggregate("r-1", 1, r.model, r.sealed());
    AggregationResult plain = r.kernel.aggregate("r-1", 1, r.model, r.plaintext());
    assertThat(secure.aggregated()).containsExactly("site-1", "site-2", "site-3");
    assertThat(secure.rejected()).isEmpty();
    // same updates in the same order: the enclave's session and the kernel add them to the bit
    assertThat(secure.model().getPayload()).isEqualTo(plain.model().getPayload());
    // and it is the weighted mean step, computed independently in double
    float[] next = FloatCodec.decode(secure.model().getPayload(), DIM);
    float[] w0 = FloatCodec.decode(r.model.getPayload(), DIM);
    for (int i = 0; i < DIM; i++) {
      double mean = 0;
      for (int s = 0; s < 3; s++) {
        mean += r.weights[s] * (double) r.deltas.get(s)[i];
      }
      mean /= 150;
      assertThat((double) next[i]).isCloseTo(w0[i] + mean, within(1e-5));
    }
  }

  @Test
  void aSealedUpdateTheHostAlteredRelabelledOrReplayedIsRefusedAsInTheEnclave() throws Exception {
    Round r = new Round();
    List<ReceivedUpdate> updates = r.sealed();
    // site-2's ciphertext with one byte flipped by the host
    UpdateEnvelope e2 = updates.get(1).envelope();
    byte[] flipped = e2.getPayload().toByteArray();
    flipped[flipped.length / 2] ^= 1;
    updates.set(1, new ReceivedUpdate("site-2", e2.toBuilder().setPayload(ByteString.copyFrom(flipped)).build(), null));
    // site-1's update also presented under site-3's label
    updates.add(new ReceivedUpdate("site-3", updates.get(0).envelope(), null));
    AggregationResult res = r.enclave.aggregate("r-1", 1, r.model, updates);
    // statements bind enc, length and segment tags (payload binding 2, docs/trust.md): a flipped byte inside a
    // segment keeps them and is refused by the segment's authentication when the enclave decrypts it
    assertThat(res.rejected().get("site-2")).startsWith("decryption_failed: the update does not decrypt")
        .contains("site site-2");
    assertThat(res.aggregated()).containsExactly("site-1", "site-3");
    assertThat(res.rejected().get("site-3")).startsWith("unauthenticated: the host labelled the update 'site-3'");

    // a new round: site-1's sealed update of round 1 replayed is refused (its statement binds round 1's challenge)
    Round again = r;
    RoundTask t2 = again.task.toBuilder().setRoundId("r-2").setRound(2).build();
    again.enclave.open(t2);
    ModelArtifact base2 = again.model;
    AggregationResult replay = again.enclave.aggregate("r-2", 2, base2, List.of(updates.get(0)));
    assertThat(replay.model()).isNull();
    assertThat(replay.rejected().get("site-1")).startsWith("wrong_round");
  }

  /** Each ledger entry as party, round, released event and epsilon after it, sorted. */
  private static List<String> ledger(SimulationConfig cfg) throws Exception {
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite:" + cfg.outDir().resolve("coordinator.db"))) {
      return store.ledger(cfg.studyId()).stream().map(e -> {
        try {
          PrivacySpend p = PrivacySpend.parseFrom(e.spend());
          return p.getPartyId() + " r" + p.getRound() + " " + p.getEventJson() + " eps=" + p.getEpsilonAfter();
        } catch (Exception ex) {
          throw new IllegalStateException(ex);
        }
      }).sorted().toList();
    }
  }
}
