package org.cloister.site.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Set;
import org.cloister.protocol.tls.MutualTls;
import org.cloister.protocol.v1.FederationGrpc;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.junit.jupiter.api.Test;

/**
 * A site whose certificate the coordinator refuses (here: revoked) says so, with the handshake failure and what it
 * means, instead of retrying without a word; past its give-up time it stops with that reason. The server is a real
 * mTLS gRPC server with the coordinator's credentials; no call reaches its (empty) service.
 */
class HandshakeRefusalTest {
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  @Test
  void aRevokedSiteStopsWithTheHandshakeFailureAndItsMeaning() throws Exception {
    SecureRandom random = new SecureRandom();
    CertificateAuthority ca = CertificateAuthority.createRoot("consortium", EcCurve.P256, NOW.minus(1, ChronoUnit.DAYS),
        NOW.plus(10, ChronoUnit.DAYS), random);
    IssuedCertificate server = ca.issueServer("coordinator", List.of("localhost"), List.of("127.0.0.1"),
        NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    IssuedCertificate site = ca.issueClient("site-3", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    Server coordinator = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
            MutualTls.serverCredentials(server.chain(), server.privateKey(), ca.certificate(),
                Set.of(site.certificate().getSerialNumber())))
        .addService(new FederationGrpc.FederationImplBase() { }).build().start();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", coordinator.getPort(),
        MutualTls.channelCredentials(site.chain(), site.privateKey(), ca.certificate())).build();
    try {
      LocalTrainer trainer = new LocalTrainer() {
        @Override
        public long numExamples() {
          return 10;
        }

        @Override
        public LocalUpdate train(float[] globalWeights, RoundTask task) {
          throw new AssertionError("a refused site never trains");
        }
      };
      // give up at once: the test does not wait on the backoff
      SiteAgent agent = new SiteAgent(channel, "s", trainer, UpdateSealer.plaintext(), null, null,
          new SiteAgent.Options(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofMillis(-1)));
      assertThatThrownBy(agent::call).isInstanceOf(SiteAgent.GaveUp.class)
          .hasMessageContaining("gave up on the coordinator").hasMessageContaining("join")
          .hasMessageContaining("the TLS handshake with the coordinator failed")
          .hasMessageContaining("refused this site's certificate: expired, revoked or issued by another consortium");
    } finally {
      channel.shutdownNow();
      coordinator.shutdownNow();
    }
  }

  @Test
  void aCoordinatorNotFromTheKitsCaPointsAtTheSitesOwnConfiguration() {
    assertThat(SiteAgent.handshakeMessage("General OpenSslEngine problem (unable to find valid certification path)"))
        .contains("coordinator's certificate is not from this kit's CA").contains("tls.trust_root");
    // what OpenSSL's engine reports when the site's own check of the coordinator's chain fails (a kit's ca.crt of
    // another consortium): this site refused the coordinator, not the other way round
    assertThat(SiteAgent.handshakeMessage("General OpenSslEngine problem (Path does not chain with any of the trust anchors)"))
        .contains("coordinator's certificate is not from this kit's CA").doesNotContain("the coordinator refused");
    // an alert the coordinator sent is its refusal of this site's certificate
    assertThat(SiteAgent.handshakeMessage("error:10000438:SSL routines:OPENSSL_internal:TLSV1_ALERT_INTERNAL_ERROR"))
        .contains("the coordinator refused this site's certificate");
  }
}
