package org.cloister.simulations.engine;

import com.google.protobuf.ByteString;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.cloister.data.Dataset;
import org.cloister.enclave.aggregation.AggregationSession;
import org.cloister.protocol.FloatCodec;
import org.cloister.site.sealing.AttestedHpkeSealer;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeException;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.noise.SecureGaussianNoise;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SignedSpend;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.dp.DpSgdLocalTrainer;
import org.cloister.site.ledger.DatasetFingerprint;
import org.cloister.site.ledger.SpendSigner;
import org.cloister.site.plain.PlainSgdTrainer;
import org.cloister.site.training.PrivacyBudget;
import org.cloister.trust.pki.IssuedCertificate;
import org.deeplearning4j.nn.api.Model;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A virtual site's compact state between rounds (its RNG streams, its spent DP events, its
 * certificate once it first trains) and its round: train with the same {@link DpSgdLocalTrainer},
 * seeds and budget as a {@code SiteAgent} in the {@code grpc} engine, then sign the spend. Used by
 * every engine that runs sites without a network ({@code inprocess}, {@code spark}). Not thread
 * safe: one round at a time per site.
 */
public final class VirtualSite {
  private static final Logger log = LoggerFactory.getLogger(VirtualSite.class);

  private final int index;
  private final String id;
  private final long examples;
  private final List<DpEvent> spent = new ArrayList<>(2);
  private SecureGaussianNoise noise;
  private SplittableRandom sampling;
  private IssuedCertificate certificate;
  private SpendSigner signer;
  private boolean preprocessingSpent;
  private int lastRound;

  public VirtualSite(int index, long examples) {
    this.index = index;
    this.id = siteId(index);
    this.examples = examples;
  }

  /** A trained round: the update, its signed spend and the certificate that verifies it. */
  public record Trained(String siteId, LocalUpdate update, SignedSpend spend, X509Certificate certificate) {

    /** The envelope a site sends, carrying {@code payload} in {@code format}. */
    public UpdateEnvelope envelope(RoundTask task, String format, ByteString payload) {
      return UpdateEnvelope.newBuilder()
          .setStudyId(task.getStudyId()).setRound(task.getRound()).setRoundId(task.getRoundId())
          .setBaseModelVersion(task.getModel().getVersion()).setNumExamples(update.numExamples())
          .setPayloadFormat(format).setPayload(payload)
          .putAllMetrics(update.metrics()).setSpend(spend).build();
    }
  }

  public int index() {
    return index;
  }

  public String id() {
    return id;
  }

  public long examples() {
    return examples;
  }

  /** The DP events this site has released so far (its own accountant's input). */
  public List<DpEvent> spent() {
    return List.copyOf(spent);
  }

  /**
   * Trains round {@code task} from {@code global} with {@code net} (a worker's reusable network).
   *
   * @param issuer issues the site's consortium certificate on its first round
   * @return empty when the site sits the round out (its own budget guard refused)
   * @throws IllegalStateException when asked to train a round it has trained already (its RNG
   *     streams have advanced: a retried task cannot reproduce the round)
   */
  public Optional<Trained> train(RoundTask task, float[] global, Model net, SiteSource source, SiteRecipe recipe,
                                 Function<String, IssuedCertificate> issuer) {
    if (task.getRound() <= lastRound) {
      throw new IllegalStateException("site " + id + " already trained round " + lastRound + " and is asked for round "
          + task.getRound() + ": its RNG streams have advanced, so a retried task cannot reproduce the round");
    }
    lastRound = task.getRound();
    if (certificate == null) {
      certificate = issuer.apply(id);
      String datasetId = DatasetFingerprint.of(id, "simulation:" + recipe.studyId() + ":partition-" + index);
      signer = new SpendSigner(id, certificate.privateKey(), certificate.certificate(), recipe.delta(), datasetId);
    }
    Dataset local = source.site(index);
    LocalTrainer trainer;
    if (recipe.dp()) {
      if (noise == null) { // the grpc engine's streams for this site (FederatedSimulation)
        noise = SecureGaussianNoise.seeded(recipe.seed() * 1_000_003L + index);
        sampling = new SplittableRandom(recipe.seed() * 7919L + index);
      }
      trainer = new DpSgdLocalTrainer(net, local, noise,
          new PrivacyBudget(Double.isNaN(recipe.epsilon()) ? Double.MAX_VALUE : recipe.epsilon(), recipe.delta()),
          () -> spent, sampling, preprocessingSpent ? null : source.preprocessingEvent(), recipe.countPrivate());
    } else {
      trainer = new PlainSgdTrainer(net, local);
    }
    LocalUpdate update;
    try {
      update = trainer.train(global, task);
    } catch (RuntimeException e) { // e.g. the site's own budget guard: it sits the round out, as SiteAgent does
      log.warn("site {}: round {} not trained: {}", id, task.getRound(), e.getMessage());
      return Optional.empty();
    }
    preprocessingSpent = true;
    SignedSpend spend = signer.sign(task, update);
    spent.add(update.spent()); // spent when it leaves the site, accepted or not
    return Optional.of(new Trained(id, update, spend, certificate.certificate()));
  }

  /**
   * What a deployed site sends for secure aggregation ({@code SiteAgent} with {@code AttestedHpkeSealer}):
   * the update sealed with HPKE to {@code enclaveKey}, bound (aad) to its study, round, site, base
   * model and dimension, and the contribution statement signed with the site's certificate binding
   * the round's {@code challenge}, the base model's digest, the spend and the sealed payload.
   */
  public UpdateEnvelope sealedEnvelope(Trained t, RoundTask task, byte[] enclaveKey, byte[] challenge, byte[] baseModelSha256,
                                       Hpke hpke) {
    float[] delta = t.update().delta();
    byte[] aad = AttestedHpkeSealer.aad(task.getStudyId(), task.getRound(), task.getRoundId(), id,
        task.getModel().getVersion(), delta.length);
    byte[] sealed;
    try {
      sealed = hpke.sealStream(enclaveKey, AggregationSession.UPDATE_INFO, aad, FloatCodec.encode(delta));
    } catch (HpkeException e) {
      throw new IllegalStateException("site " + id + ": cannot seal its update: " + e.getMessage(), e);
    }
    UpdateEnvelope plain = t.envelope(task, AggregationSession.UPDATE_FORMAT, ByteString.copyFrom(sealed));
    return plain.toBuilder().setContribution(signer.signContribution(task, t.update().numExamples(),
        AggregationSession.UPDATE_FORMAT, sealed, challenge, baseModelSha256, t.spend())).build();
  }

  public static String siteId(int index) {
    return org.cloister.simulations.SimulatedStudy.siteId(index);
  }

  public static int siteIndex(String id) {
    return Integer.parseInt(id.substring("site-".length())) - 1;
  }
}
