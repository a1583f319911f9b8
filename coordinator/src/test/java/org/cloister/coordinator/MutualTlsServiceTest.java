package org.cloister.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.coordinator.aggregation.PlaintextFedAvgAggregator;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.service.CertificateIdentityResolver;
import org.cloister.coordinator.service.CoordinatorServer;
import org.cloister.coordinator.strategy.FedAvgStrategy;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.tls.MutualTls;
import org.cloister.protocol.v1.FederationGrpc;
import org.cloister.protocol.v1.JoinRequest;
import org.cloister.protocol.v1.JoinResponse;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The coordinator's gRPC server with mutual TLS: identity from the certificate, strangers refused at the handshake. */
class MutualTlsServiceTest {
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  private final SecureRandom random = new SecureRandom();
  private final CertificateAuthority ca = CertificateAuthority.createRoot("consortium", EcCurve.P256,
      NOW.minus(1, ChronoUnit.DAYS), NOW.plus(10, ChronoUnit.DAYS), random);
  private final List<ManagedChannel> channels = new ArrayList<>();
  private IssuedCertificate revoked;
  private final List<String> refusals = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final org.cloister.coordinator.service.HandshakeRefusals log =
      new org.cloister.coordinator.service.HandshakeRefusals((rpc, kind) -> refusals.add(rpc + "/" + kind));
  private CoordinatorServer server;

  @BeforeEach
  void start() throws Exception {
    revoked = ca.issueClient("site-revoked", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    IssuedCertificate serverCert = ca.issueServer("coordinator", List.of("localhost"), List.of("127.0.0.1"),
        NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    byte[] p = FloatCodec.encode(new float[2]);
    ModelArtifact m0 = ModelArtifact.newBuilder().setStudyId("s").setVersion(1).setDimension(2)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(p)).build();
    StudyConfig cfg = new StudyConfig("s", "toy", 2, 1, 1, 0, Duration.ofSeconds(5), Duration.ofSeconds(30), 1,
        TrainingConfig.getDefaultInstance(), 1024, 0, Duration.ZERO, false);
    RoundEngine engine = new RoundEngine(cfg, m0, new FedAvgStrategy(),
        new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(2)), new org.cloister.coordinator.store.JdbcStudyStore("jdbc:sqlite::memory:"),
        Clock.systemUTC(), 1);
    server = new CoordinatorServer(new InetSocketAddress("127.0.0.1", 0),
        MutualTls.serverCredentials(serverCert.chain(), serverCert.privateKey(), ca.certificate(),
            Set.of(revoked.certificate().getSerialNumber()), (who, why) -> {
              refusals.add(who + ": " + why);
              log.refused(who, why);
            }),
        engine, new CertificateIdentityResolver(), (rpc, reason) -> { }, b -> { }).start();
  }

  @AfterEach
  void stop() throws Exception {
    channels.forEach(ManagedChannel::shutdownNow);
    server.close();
  }

  private JoinResponse join(IssuedCertificate client, CertificateAuthority trusted) {
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port(),
        MutualTls.channelCredentials(client.chain(), client.privateKey(), trusted.certificate())).build();
    channels.add(ch);
    return FederationGrpc.newBlockingStub(ch).withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS)
        .join(JoinRequest.newBuilder().setStudyId("s").setNumExamples(3).build());
  }

  @Test
  void identityIsTheCertificateCommonName() {
    IssuedCertificate site = ca.issueClient("site-7", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    assertThat(join(site, ca).getSiteId()).isEqualTo("site-7");
  }

  @Test
  void certificateFromAnotherCaIsRefusedAtTheHandshake() {
    CertificateAuthority other = CertificateAuthority.createRoot("intruder", EcCurve.P256,
        NOW.minus(1, ChronoUnit.DAYS), NOW.plus(10, ChronoUnit.DAYS), random);
    IssuedCertificate stranger = other.issueClient("site-1", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    assertThatThrownBy(() -> join(stranger, ca))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(MutualTls.handshakeFailure(e)).as("the site learns it was a handshake failure").isNotNull();
        });
    // the coordinator is told who tried and why they were refused
    assertThat(String.join("\n", refusals)).isNotEmpty().contains("CN=site-1").contains("issuer CN=intruder")
        .contains("not issued by this consortium's CA (CN=consortium)");
  }

  @Test
  void expiredCertificateIsRefused() {
    IssuedCertificate expired = ca.issueClient("site-old", NOW.minus(3, ChronoUnit.HOURS), NOW.minus(1, ChronoUnit.HOURS));
    assertThatThrownBy(() -> join(expired, ca))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(String.join("\n", refusals)).isNotEmpty().contains("CN=site-old")
        .contains("certificate expired on " + NOW.minus(1, ChronoUnit.HOURS));
  }

  @Test
  void revokedCertificateIsRefused() {
    assertThatThrownBy(() -> join(revoked, ca))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(String.join("\n", refusals)).isNotEmpty().contains("CN=site-revoked")
        .contains("certificate revoked (serial " + revoked.certificate().getSerialNumber().toString(16))
        .contains("handshake/certificate_revoked");
    // kept for the study's status, by common name, however often the site retried
    assertThat(log.commonNames()).containsExactly("site-revoked");
    assertThat(log.refusals().values()).singleElement().asString().startsWith("certificate revoked");
  }

  @Test
  void clientRefusesAServerFromAnotherCa() {
    CertificateAuthority other = CertificateAuthority.createRoot("elsewhere", EcCurve.P256,
        NOW.minus(1, ChronoUnit.DAYS), NOW.plus(10, ChronoUnit.DAYS), random);
    IssuedCertificate site = ca.issueClient("site-2", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    assertThatThrownBy(() -> join(site, other)).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(MutualTls.handshakeFailure(e)).contains("certification path"));
    assertThat(refusals).isEmpty();
  }

}
