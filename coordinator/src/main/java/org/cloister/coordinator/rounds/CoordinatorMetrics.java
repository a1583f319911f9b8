package org.cloister.coordinator.rounds;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;

/**
 * The coordinator's metrics: round duration, sites per round, update bytes received, rejected
 * updates and refused requests by reason. Only counts and durations; never values.
 */
public final class CoordinatorMetrics implements RoundListener {
  private final MeterRegistry registry;
  private final Timer roundDuration;
  private final DistributionSummary sitesPerRound;
  private final Counter roundsWithoutQuorum;
  private final DistributionSummary updateBytes;
  private final java.util.concurrent.atomic.AtomicReference<double[]> evaluation =
      new java.util.concurrent.atomic.AtomicReference<>(new double[] {Double.NaN, Double.NaN, Double.NaN});

  public CoordinatorMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.roundDuration = Timer.builder("cloister.round.duration").description("Wall time of a round").register(registry);
    this.sitesPerRound = DistributionSummary.builder("cloister.round.sites").description("Updates aggregated per round").register(registry);
    this.roundsWithoutQuorum = Counter.builder("cloister.round.no_quorum").description("Round attempts without quorum").register(registry);
    this.updateBytes = DistributionSummary.builder("cloister.update.bytes").baseUnit("bytes")
        .description("Size of accepted update payloads").register(registry);
    // federated evaluation: post-processing of the sites' noised held-out counts (NaN until a round has one)
    io.micrometer.core.instrument.Gauge.builder("cloister.evaluation.accuracy", evaluation, e -> e.get()[0])
        .description("Accuracy of the last evaluated model version from the sites' noised held-out histograms")
        .register(registry);
    io.micrometer.core.instrument.Gauge.builder("cloister.evaluation.auc", evaluation, e -> e.get()[1])
        .description("AUC of the last evaluated model version (binary studies)").register(registry);
    io.micrometer.core.instrument.Gauge.builder("cloister.evaluation.model_version", evaluation, e -> e.get()[2])
        .description("The model version the evaluation gauges describe").register(registry);
  }

  /** A request refused by the coordinator (gRPC status with a reason). */
  /**
   * The study's progress and its sites, read at each scrape: {@code cloister_study_current_round},
   * {@code cloister_study_rounds_completed}, {@code cloister_study_rounds_planned}, {@code cloister_sites_joined} and
   * {@code cloister_sites_rostered} (counts only).
   */
  public void watchStudy(java.util.function.IntSupplier currentRound, java.util.function.IntSupplier completedRounds,
                         int plannedRounds, java.util.function.IntSupplier joinedSites, int rosteredSites) {
    io.micrometer.core.instrument.Gauge.builder("cloister.study.current_round", currentRound, s -> s.getAsInt())
        .description("The round the study is in").strongReference(true).register(registry);
    io.micrometer.core.instrument.Gauge.builder("cloister.study.rounds_completed", completedRounds, s -> s.getAsInt())
        .description("Rounds aggregated so far").strongReference(true).register(registry);
    io.micrometer.core.instrument.Gauge.builder("cloister.study.rounds_planned", () -> plannedRounds)
        .description("Rounds the study plans").register(registry);
    io.micrometer.core.instrument.Gauge.builder("cloister.sites.joined", joinedSites, s -> s.getAsInt())
        .description("Sites that joined the study").strongReference(true).register(registry);
    io.micrometer.core.instrument.Gauge.builder("cloister.sites.rostered", () -> rosteredSites)
        .description("Sites on the coordinator's roster").register(registry);
  }

  public void refused(String rpc, String reason) {
    registry.counter("cloister.requests.refused", "rpc", rpc, "reason", reason).increment();
  }

  @Override
  public void updateAccepted(String siteId, int payloadBytes) {
    updateBytes.record(payloadBytes);
  }

  /** The final model's evaluation after the last round: the evaluation gauges then describe the final model. */
  @Override
  public void finalEvaluationCompleted(RoundResult r) {
    if (r.evaluation() != null) {
      org.cloister.protocol.EvaluationHistograms.Metrics m = r.evaluation().metrics(r.round());
      evaluation.set(new double[] {m.accuracy(), m.auc(), r.evaluation().modelVersion()});
    }
  }

  @Override
  public void roundCompleted(RoundResult r) {
    if (r.evaluation() != null) {
      org.cloister.protocol.EvaluationHistograms.Metrics m = r.evaluation().metrics(r.round());
      evaluation.set(new double[] {m.accuracy(), m.auc(), r.evaluation().modelVersion()});
    }
    roundDuration.record(Duration.ofMillis(r.durationMillis()));
    if (r.quorumMet()) {
      sitesPerRound.record(r.aggregated().size());
    } else {
      roundsWithoutQuorum.increment();
    }
    r.rejected().forEach((site, why) ->
        registry.counter("cloister.updates.rejected", "reason", reasonTag(why)).increment());
  }

  /** Fixed, low-cardinality tag from a rejection message ("not_finite: ..." -> "not_finite"). */
  static String reasonTag(String why) {
    if (why.startsWith("no update before the deadline")) {
      return "straggler";
    }
    int colon = why.indexOf(':');
    String head = colon > 0 ? why.substring(0, colon) : why;
    return head.matches("[a-z_]{1,40}") ? head : "other";
  }
}
