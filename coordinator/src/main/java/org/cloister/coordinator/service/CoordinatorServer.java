package org.cloister.coordinator.service;

import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.cloister.coordinator.rounds.RoundEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's gRPC server, bound to one address (loopback by default) with message size
 * limits. Transport security is supplied by the caller through the builder customizer.
 */
public final class CoordinatorServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CoordinatorServer.class);

  private final Server server;
  private final Thread engineThread;
  private final RoundEngine engine;

  /** Customizes the Netty server builder (TLS, executors) before it is built. */
  @FunctionalInterface
  public interface TransportCustomizer {
    void customize(NettyServerBuilder builder);
  }

  /**
   * @param credentials {@code MutualTls.serverCredentials(...)} in any real deployment;
   *                    {@code InsecureServerCredentials.create()} only with the development identity resolver
   */
  public CoordinatorServer(InetSocketAddress address, ServerCredentials credentials, RoundEngine engine,
                           SiteIdentityResolver identity, FederationService.RejectionCounter rejections,
                           TransportCustomizer transport) {
    this(address, credentials, engine, identity, rejections, transport, TaskAttachments.NONE);
  }

  /**
   * @param attachments what the secure aggregator's sites receive with their tasks ({@link TaskAttachments#NONE}
   *                    without one)
   */
  public CoordinatorServer(InetSocketAddress address, ServerCredentials credentials, RoundEngine engine,
                           SiteIdentityResolver identity, FederationService.RejectionCounter rejections,
                           TransportCustomizer transport, TaskAttachments attachments) {
    this.engine = engine;
    int maxMessage = engine.config().maxUpdateBytes() + 1024 * 1024;
    NettyServerBuilder b = NettyServerBuilder.forAddress(address, credentials)
        .maxInboundMessageSize(maxMessage)
        .maxInboundMetadataSize(16 * 1024)
        .addService(ServerInterceptors.intercept(
            ServerInterceptors.useInputStreamMessages(
                ServerInterceptors.intercept(new FederationService(engine, rejections, attachments), new IdentityInterceptor(identity))),
            new MalformedMessageInterceptor(rejections)));
    transport.customize(b);
    this.server = b.build();
    this.engineThread = new Thread(engine, "round-engine-" + engine.config().studyId());
    this.engineThread.setDaemon(true);
  }

  /** Starts serving and runs the study. */
  public CoordinatorServer start() throws IOException {
    server.start();
    log.info("coordinator for study {} listening on {}", engine.config().studyId(), server.getListenSockets());
    engineThread.start();
    return this;
  }

  /** The address the server actually bound (e.g. 0.0.0.0:7443 for all interfaces). */
  public InetSocketAddress boundAddress() {
    return (InetSocketAddress) server.getListenSockets().get(0);
  }

  public int port() {
    return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
  }

  public RoundEngine engine() {
    return engine;
  }

  @Override
  public void close() throws InterruptedException {
    engine.stop();
    server.shutdown();
    if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
      server.shutdownNow();
    }
    engineThread.join(5000);
  }
}
