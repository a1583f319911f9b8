package org.cloister.broker;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.util.List;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidenceVerifier;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.cloister.trust.attestation.AttestationVerifier;

/**
 * The key broker's gRPC server: TLS only (its certificate is what enclaves pin, so a host that
 * relays the connection cannot impersonate the broker), {@link KeyBrokerService} for enclaves and
 * {@link KeyBrokerAdminService} behind a bearer token.
 */
public final class KeyBrokerServer implements AutoCloseable {
  /** How long a challenge nonce stays valid. */
  public static final Duration NONCE_TTL = Duration.ofSeconds(60);

  private final Server server;

  /**
   * @param verifier     verifies Nitro documents (AWS root, or a development root)
   * @param cvmVerifiers verify SEV-SNP reports and TDX quotes (pinned vendor roots outside tests)
   * @param collateral   the broker's SEV-SNP / TDX collateral (its folder, {@link Collateral#readDirectory})
   */
  public KeyBrokerServer(InetSocketAddress address, Path tlsCertificateChain, Path tlsPrivateKey, BrokerKeystore keystore,
                         KeyPolicies policies, AttestationVerifier verifier, List<EvidenceVerifier> cvmVerifiers,
                         Collateral collateral, AuditLog audit, byte[] adminToken,
                         Clock clock, SecureRandom random) throws IOException {
    NonceRegistry nonces = new NonceRegistry(clock, random, NONCE_TTL);
    KeyBrokerService service = new KeyBrokerService(keystore, policies, verifier, cvmVerifiers, collateral, nonces,
        new DataKeyWrapper(random), audit, clock);
    this.server = NettyServerBuilder.forAddress(address)
        .sslContext(GrpcSslContexts.forServer(tlsCertificateChain.toFile(), tlsPrivateKey.toFile()).build())
        .maxInboundMessageSize(1 << 20)
        .addService(service)
        .addService(ServerInterceptors.intercept(new KeyBrokerAdminService(policies, audit),
            KeyBrokerAdminService.bearer(adminToken)))
        .build();
  }

  public KeyBrokerServer start() throws IOException {
    server.start();
    return this;
  }

  public int port() {
    return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdown();
    if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
      server.shutdownNow();
    }
  }
}
