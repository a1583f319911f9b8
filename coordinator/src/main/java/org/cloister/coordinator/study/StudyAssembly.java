package org.cloister.coordinator.study;

import com.google.protobuf.ByteString;
import java.time.Clock;
import java.util.Objects;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.ledger.CheckpointSigner;
import org.cloister.coordinator.rounds.EngineTime;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.coordinator.store.StudyStore;
import java.util.function.UnaryOperator;
import org.cloister.coordinator.strategy.Strategies;
import org.cloister.coordinator.strategy.Strategy;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;

/**
 * The one place a study's coordinator side is wired: its durable store (with the checkpoint
 * signer), its sites' privacy ceilings (the budget guard), its strategy, the aggregation stack it
 * is given and the round engine over them, in the time it is given. Every runner (the services,
 * each simulation engine, the benchmarks) assembles a study here; none constructs a
 * {@link RoundEngine} itself (checked by {@code StudyAssemblyTest}).
 *
 * <p>Privacy is decided, never defaulted: {@link Builder#build()} refuses a study whose builder was
 * told neither {@link Builder#budgets} nor {@link Builder#withoutBudgetEnforcement}.
 *
 * <pre>{@code
 * try (AssembledStudy s = StudyAssembly.builder(config, StudyAssembly.initialModel(id, "mlp", w0))
 *     .database("jdbc:sqlite:coordinator.db").checkpointSigner(signer)
 *     .strategy("fedadam").aggregator(enclave).budgets(ceilings).seed(42).build()) {
 *   s.engine().run();
 * }
 * }</pre>
 */
public final class StudyAssembly {
  private StudyAssembly() {
  }

  /** A study's assembled coordinator side; closing it closes the store. */
  public record AssembledStudy(StudyConfig config, StudyStore store, Strategy strategy, PrivacyBudgets budgets,
                               RoundEngine engine) implements AutoCloseable {
    /** The sites' ceilings as enforced, or null for a study without enforcement. */
    public BudgetGuard budgetGuard() {
      return engine.budgetGuard();
    }

    @Override
    public void close() {
      store.close();
    }
  }

  public static Builder builder(StudyConfig config, ModelArtifact initialModel) {
    return new Builder(config, initialModel);
  }

  /**
   * Version 1 of a study's model: the public initial weights {@code w0} (a random initialization
   * that carries no patient data) as a little-endian float32 artifact with its SHA-256.
   */
  public static ModelArtifact initialModel(String studyId, String modelName, float[] w0) {
    byte[] payload = FloatCodec.encode(w0);
    return ModelArtifact.newBuilder()
        .setStudyId(studyId).setVersion(1).setModelName(modelName).setDimension(w0.length)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(payload))
        .setSha256(ByteString.copyFrom(FloatCodec.sha256(payload))).build();
  }

  /** Collects a study's parts; {@link #build()} checks that every required one was given. */
  public static final class Builder {
    private final StudyConfig config;
    private final ModelArtifact initialModel;
    private String jdbcUrl;
    private CheckpointSigner checkpointSigner;
    private UnaryOperator<StudyStore> storeWrapper = UnaryOperator.identity();
    private String strategy;
    private Aggregator aggregator;
    private PrivacyBudgets budgets;
    private boolean budgetsDecided;
    private EngineTime time = EngineTime.of(Clock.systemUTC());
    private Long seed;

    private Builder(StudyConfig config, ModelArtifact initialModel) {
      this.config = Objects.requireNonNull(config, "config");
      this.initialModel = Objects.requireNonNull(initialModel, "initialModel");
    }

    /** The coordinator's database ({@code jdbc:sqlite:...} or {@code jdbc:postgresql:...}). Required. */
    public Builder database(String jdbcUrl) {
      this.jdbcUrl = Objects.requireNonNull(jdbcUrl, "jdbcUrl");
      return this;
    }

    /** Signs a checkpoint of the ledger head at every committed round (the coordinator's consortium key). */
    public Builder checkpointSigner(CheckpointSigner signer) {
      this.checkpointSigner = signer;
      return this;
    }

    /** Wraps the opened store, e.g. to time its calls in a benchmark; the wrapper must delegate every call. */
    public Builder storeWrapper(UnaryOperator<StudyStore> wrapper) {
      this.storeWrapper = Objects.requireNonNull(wrapper, "wrapper");
      return this;
    }

    /** The strategy's spec ({@code name[:key=value,...]}), resolved against the installed strategies. Required. */
    public Builder strategy(String spec) {
      this.strategy = Objects.requireNonNull(spec, "strategy");
      return this;
    }

    /** Where a round's updates are combined: the enclave, or a development aggregator. Required. */
    public Builder aggregator(Aggregator aggregator) {
      this.aggregator = Objects.requireNonNull(aggregator, "aggregator");
      return this;
    }

    /** Each site's ceiling, enforced before every round by the budget guard. */
    public Builder budgets(PrivacyBudgets budgets) {
      this.budgets = Objects.requireNonNull(budgets, "budgets (use withoutBudgetEnforcement() for a study without)");
      this.budgetsDecided = true;
      return this;
    }

    /** No ceilings enforced by the coordinator: a non-private baseline, or a benchmark. Must be said explicitly. */
    public Builder withoutBudgetEnforcement() {
      this.budgets = null;
      this.budgetsDecided = true;
      return this;
    }

    /** The time deadlines are measured and waited in (default: real UTC time). */
    public Builder time(EngineTime time) {
      this.time = Objects.requireNonNull(time, "time");
      return this;
    }

    /** The seed of the strategy's site sampling. Required. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Opens (or resumes) the study in its store and builds its round engine.
     *
     * @throws IllegalStateException naming the part that was not given
     * @throws IllegalArgumentException for an unknown strategy or one that does not fit the study
     */
    public AssembledStudy build() {
      require(jdbcUrl != null, "database");
      require(strategy != null, "strategy");
      require(aggregator != null, "aggregator");
      require(seed != null, "seed");
      if (!budgetsDecided) {
        throw new IllegalStateException("study " + config.studyId() + ": the sites' privacy ceilings were not given: "
            + "call budgets(...) or, for a study the coordinator does not hold to a budget, withoutBudgetEnforcement()");
      }
      Strategy resolved = Strategies.parse(strategy);
      StudyStore store = storeWrapper.apply(checkpointSigner == null ? new JdbcStudyStore(jdbcUrl)
          : new JdbcStudyStore(jdbcUrl, checkpointSigner));
      try {
        RoundEngine engine = new RoundEngine(config, initialModel, resolved, aggregator, store, budgets, time, seed);
        return new AssembledStudy(config, store, resolved, budgets, engine);
      } catch (RuntimeException e) {
        store.close();
        throw e;
      }
    }

    private void require(boolean given, String part) {
      if (!given) {
        throw new IllegalStateException("study " + config.studyId() + ": no " + part + " given to the study assembly");
      }
    }
  }
}
