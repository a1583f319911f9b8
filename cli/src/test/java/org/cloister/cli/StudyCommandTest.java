package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.coordinator.aggregation.PlaintextFedAvgAggregator;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.service.CertificateIdentityResolver;
import org.cloister.coordinator.service.CoordinatorServer;
import org.cloister.coordinator.service.HandshakeRefusals;
import org.cloister.coordinator.service.IdentityInterceptor;
import org.cloister.coordinator.service.StudyAdminService;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.coordinator.strategy.FedAvgStrategy;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.coordinator.study.StudyStatusKind;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.tls.MutualTls;
import org.cloister.protocol.v1.FederationGrpc;
import org.cloister.protocol.v1.JoinRequest;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.cloister.trust.pki.Pem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cloister status} and {@code cloister study pause|resume|stop} against a real coordinator server (mTLS gRPC
 * on loopback, the round engine, its store): the operator's certificate may act, a site's may not; pause holds the
 * study with the coordinator still serving, resume runs it on, stop ends it for good.
 */
class StudyCommandTest {
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  private static Path kit(Path dir, String name, IssuedCertificate cert, CertificateAuthority ca, int port)
      throws Exception {
    Path k = Files.createDirectories(dir.resolve(name));
    Pem.writeCertificates(k.resolve("operator.crt"), cert.chain());
    Pem.writePrivateKey(k.resolve("operator.key"), cert.privateKey());
    Pem.writeCertificates(k.resolve("ca.crt"), List.of(ca.certificate()));
    Files.writeString(k.resolve("operator.yaml"), "coordinator: 127.0.0.1:" + port + "\n");
    return k;
  }

  @Test
  void theOperatorSeesMissingSitesAndPausesResumesAndStopsTheStudy(@TempDir Path dir) throws Exception {
    SecureRandom random = new SecureRandom();
    CertificateAuthority ca = CertificateAuthority.createRoot("consortium", EcCurve.P256, NOW.minus(1, ChronoUnit.DAYS),
        NOW.plus(10, ChronoUnit.DAYS), random);
    IssuedCertificate server = ca.issueServer("coordinator", List.of("localhost"), List.of("127.0.0.1"),
        NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    IssuedCertificate operator = ca.issueClient("operator", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    IssuedCertificate site1 = ca.issueClient("site-1", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    byte[] p = FloatCodec.encode(new float[2]);
    ModelArtifact m0 = ModelArtifact.newBuilder().setStudyId("s").setVersion(1).setDimension(2)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(p)).build();
    // two rostered sites, quorum 2: the study waits for site-2, which never comes
    StudyConfig cfg = new StudyConfig("s", "toy", 2, 3, 2, 0, Duration.ofSeconds(60), Duration.ofSeconds(600), 1,
        TrainingConfig.getDefaultInstance(), 1024, 2, Duration.ZERO, false);
    PrivacyBudgets budgets = new PrivacyBudgets(new PrivacyBudgets.Ceiling(3.0, 1e-5), Map.of());
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite:" + dir.resolve("coordinator.db"))) {
      RoundEngine engine = new RoundEngine(cfg, m0, new FedAvgStrategy(),
          new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(2)), store, budgets, Clock.systemUTC(), 1);
      engine.holdWhenPaused(true);
      HandshakeRefusals refusals = new HandshakeRefusals((rpc, kind) -> { });
      StudyAdminService admin = new StudyAdminService(engine, List.of("site-1", "site-2"), Set.of("operator"), budgets,
          refusals);
      try (CoordinatorServer coordinator = new CoordinatorServer(new InetSocketAddress("127.0.0.1", 0),
          MutualTls.serverCredentials(server.chain(), server.privateKey(), ca.certificate(), Set.of(), refusals), engine,
          new CertificateIdentityResolver(), (rpc, reason) -> { },
          b -> b.addService(ServerInterceptors.intercept(admin, new IdentityInterceptor(new CertificateIdentityResolver()))))
          .start()) {
        Path opKit = kit(dir, "operator", operator, ca, coordinator.port());
        ManagedChannel siteChannel = NettyChannelBuilder.forAddress("127.0.0.1", coordinator.port(),
            MutualTls.channelCredentials(site1.chain(), site1.privateKey(), ca.certificate())).build();
        try {
          FederationGrpc.newBlockingStub(siteChannel).join(JoinRequest.newBuilder().setStudyId("s").setNumExamples(10).build());
        } finally {
          siteChannel.shutdownNow();
        }

        CloisterCommandTest.Run status = CloisterCommandTest.run("status", "--kit", opKit.toString());
        assertThat(status.code()).as(status.err()).isZero();
        assertThat(status.out()).contains("study s: waiting for sites").contains("0 of 3 rounds completed")
            .contains("1 joined, 1 not joined").containsPattern("site-1 +joined  epsilon 0.000 of 3.000")
            .containsPattern("site-2 +NOT JOINED").contains("evaluation: no federated evaluation");
        CloisterCommandTest.Run json = CloisterCommandTest.run("status", "--kit", opKit.toString(), "--json");
        assertThat(json.code()).as(json.err()).isZero();
        var study = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out()).get("studies").get(0);
        assertThat(study.get("evaluation").asText()).isEqualTo("no federated evaluation");
        assertThat(study.get("evaluations")).isEmpty();
        assertThat(study.get("sites").get(1).get("joined").asBoolean()).isFalse();

        // a site's certificate is no operator's
        Path siteKit = kit(dir, "site", site1, ca, coordinator.port());
        CloisterCommandTest.Run denied = CloisterCommandTest.run("study", "pause", "s", "--kit", siteKit.toString());
        assertThat(denied.code()).isEqualTo(1);
        assertThat(denied.err()).contains("PERMISSION_DENIED").contains("'site-1' is not an operator")
            .doesNotContain("Exception");
        assertThat(engine.status()).isNotEqualTo(StudyStatusKind.PAUSED);

        CloisterCommandTest.Run pause = CloisterCommandTest.run("study", "pause", "s", "--reason", "site-2 maintenance",
            "--kit", opKit.toString());
        assertThat(pause.code()).as(pause.err()).isZero();
        assertThat(pause.out()).contains("study s: paused (paused by the operator").contains("site-2 maintenance");
        assertThat(engine.awaitEnd(Duration.ofSeconds(30))).isTrue();
        assertThat(engine.status()).isEqualTo(StudyStatusKind.PAUSED);
        CloisterCommandTest.Run again = CloisterCommandTest.run("study", "list", "--kit", opKit.toString());
        assertThat(again.out()).contains("study s: paused");

        CloisterCommandTest.Run resume = CloisterCommandTest.run("study", "resume", "s", "--kit", opKit.toString());
        assertThat(resume.code()).as(resume.err()).isZero();
        assertThat(resume.out()).startsWith("study s: ").doesNotContain("study s: paused");
        assertThat(engine.status()).isNotEqualTo(StudyStatusKind.PAUSED);
        CloisterCommandTest.Run notPaused = CloisterCommandTest.run("study", "resume", "s", "--kit", opKit.toString());
        assertThat(notPaused.code()).isEqualTo(1);
        assertThat(notPaused.err()).contains("FAILED_PRECONDITION").contains("not paused");

        CloisterCommandTest.Run other = CloisterCommandTest.run("study", "stop", "other", "--kit", opKit.toString());
        assertThat(other.err()).contains("NOT_FOUND").contains("runs study 's'");

        CloisterCommandTest.Run stop = CloisterCommandTest.run("study", "stop", "s", "--reason", "protocol amended",
            "--kit", opKit.toString());
        assertThat(stop.code()).as(stop.err()).isZero();
        assertThat(stop.out()).containsPattern("^study s: (stop requested \\(protocol amended\\)|finished)");
        long until = System.currentTimeMillis() + 30_000;
        while (engine.status() != StudyStatusKind.FINISHED && System.currentTimeMillis() < until) {
          engine.awaitEnd(Duration.ofMillis(200));
        }
        assertThat(engine.status()).isEqualTo(StudyStatusKind.FINISHED);
        assertThat(engine.statusDetail()).contains("stopped by the operator after 0 rounds: protocol amended");
      }
    }
  }

  @Test
  void aCoordinatorThatIsNotRunningIsOneLineNamingTheAddress(@TempDir Path dir) throws Exception {
    CertificateAuthority ca = CertificateAuthority.createRoot("consortium", EcCurve.P256, NOW.minusSeconds(60),
        NOW.plus(1, ChronoUnit.DAYS), new java.security.SecureRandom());
    IssuedCertificate op = ca.issueClient("operator", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort(); // closed again: nothing listens there
    }
    Path k = kit(dir, "operator", op, ca, port);
    CloisterCommandTest.Run r = CloisterCommandTest.run("status", "--kit", k.toString());
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).contains("status: no coordinator answers at 127.0.0.1:" + port)
        .contains(k.resolve("operator.yaml").toString()).doesNotContain("io exception");
    assertThat(r.err().lines().count()).isEqualTo(1);
  }

  @Test
  void aMissingKitIsAUsageErrorNamingTheFile(@TempDir Path dir) {
    CloisterCommandTest.Run r = CloisterCommandTest.run("status", "--kit", dir.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("no operator.crt in " + dir);
  }
}
