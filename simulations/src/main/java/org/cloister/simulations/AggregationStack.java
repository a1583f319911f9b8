package org.cloister.simulations;

import io.grpc.Channel;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.util.List;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.aggregation.PlaintextFedAvgAggregator;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.site.agent.UpdateSealer;

/**
 * How a simulated study aggregates: through the attested enclave and the key broker (the
 * default, {@link SecureAggregationStack}), or the non-private plaintext baseline in the
 * coordinator (system property {@code cloister.aggregation=plaintext}). It hands each party its
 * piece: the coordinator's aggregator and extra services, each site's sealer, each member's way to
 * open a published model.
 */
public interface AggregationStack extends AutoCloseable {

  /** The coordinator's aggregator. */
  Aggregator aggregator();

  /** Registers extra services on the coordinator's server (the attestation relay). */
  void registerServices(NettyServerBuilder coordinatorServer);

  /** What the coordinator hands sites with their tasks ({@code TaskAttachments.NONE}: nothing). */
  default org.cloister.coordinator.service.TaskAttachments taskAttachments() {
    return org.cloister.coordinator.service.TaskAttachments.NONE;
  }

  /** The sealer of site {@code siteId}, talking to the coordinator over {@code coordinator}. */
  UpdateSealer sealer(String siteId, Channel coordinator);

  /** The weights of a published model, as member {@code memberId} opens them. */
  float[] open(String memberId, ModelArtifact model, Channel coordinator);

  @Override
  void close();

  /**
   * The stack a simulation uses: the secure one unless {@code -Dcloister.aggregation=plaintext}.
   *
   * @param observers members that never train
   * @param pki       the consortium's credentials (its CA is pinned in the enclave's configuration)
   */
  static AggregationStack forSimulation(SimulationConfig cfg, ModelArtifact initialModel, List<String> members,
                                        java.util.Set<String> observers, ConsortiumCredentials pki) throws IOException {
    String mode = System.getProperty("cloister.aggregation", "enclave");
    return switch (mode) {
      case "enclave" -> SecureAggregationStack.start(cfg, initialModel, members, observers, pki.ca());
      case "plaintext" -> {
        yield plaintext((int) initialModel.getDimension(), SecureAggregationStack.strategySpec(cfg.strategy()));
      }
      default -> throw new IllegalArgumentException("cloister.aggregation must be enclave or plaintext, got '" + mode + "'");
    };
  }

  /** One line saying how {@link #forSimulation} will aggregate. */
  static String describeMode() {
    return "plaintext".equals(System.getProperty("cloister.aggregation"))
        ? "plaintext FedAvg in the coordinator (non-private baseline)"
        : "FedAvg in the attested enclave (simulated platform) with the key broker";
  }

  /** The non-private baseline: plaintext updates averaged in the coordinator's process. */
  static AggregationStack plaintext(int dimension) {
    return plaintext(dimension, org.cloister.enclave.AggregationPolicy.FEDAVG);
  }

  /** The plaintext baseline running {@code strategy}'s aggregation rule in the coordinator's process. */
  static AggregationStack plaintext(int dimension, org.cloister.aggregation.strategy.StrategySpec strategy) {
    return new AggregationStack() {
      private final Aggregator aggregator = new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(dimension), strategy);

      @Override
      public Aggregator aggregator() {
        return aggregator;
      }

      @Override
      public void registerServices(NettyServerBuilder coordinatorServer) {
      }

      @Override
      public UpdateSealer sealer(String siteId, Channel coordinator) {
        return UpdateSealer.plaintext();
      }

      @Override
      public float[] open(String memberId, ModelArtifact model, Channel coordinator) {
        return FloatCodec.decode(model.getPayload(), (int) model.getDimension());
      }

      @Override
      public void close() {
      }
    };
  }
}
