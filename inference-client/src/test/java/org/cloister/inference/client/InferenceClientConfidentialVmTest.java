package org.cloister.inference.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.cloister.protocol.EvidenceWire;
import org.cloister.protocol.v1.Evidence;
import org.cloister.protocol.v1.InferenceAttestation;
import org.cloister.protocol.v1.InferenceAttestationRequest;
import org.cloister.protocol.v1.InferenceGrpc;
import org.cloister.protocol.v1.ServedModel;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.BoundEvidenceVerifier;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.ReportDataBinding;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.snp.SimulatedSnpPlatform;
import org.cloister.trust.hpke.Hpke;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An inference client pinning an enclave on SEV-SNP. The server here is a TEST DOUBLE of the inference enclave's
 * Attest endpoint (real gRPC on loopback) answering with reports from {@link SimulatedSnpPlatform}; what is under
 * test is the client's verification: pinned measurement, report data binding its nonce, the HPKE key and the
 * served model, platform.
 */
class InferenceClientConfidentialVmTest {
  static final byte[] MEASUREMENT = filled(0x5a);
  static SimulatedSnpPlatform snp;
  static final byte[] KEY = new Hpke().generateKeyPair().publicKey();
  static final byte[] SERVED = ServedModel.newBuilder().setStudyId("study-1").setModelName("logreg").setModelVersion(3)
      .setNumFeatures(30).setNumClasses(2).setArtifactSha256(ByteString.copyFrom(filled(1))).build().toByteArray();
  Server server;
  ManagedChannel channel;

  static byte[] filled(int b) {
    byte[] m = new byte[48];
    Arrays.fill(m, (byte) b);
    return m;
  }

  @BeforeAll
  static void platform() throws Exception {
    snp = new SimulatedSnpPlatform(11);
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (server != null) {
      server.shutdownNow();
    }
  }

  /** Starts the test double answering every Attest with {@code answer(nonce)}, and a client pinning MEASUREMENT. */
  InferenceClient client(java.util.function.Function<byte[], Evidence> answer) throws Exception {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new InferenceGrpc.InferenceImplBase() {
          @Override
          public void attest(InferenceAttestationRequest req, StreamObserver<InferenceAttestation> out) {
            out.onNext(InferenceAttestation.newBuilder().setEvidence(answer.apply(req.getNonce().toByteArray())).build());
            out.onCompleted();
          }
        }).build().start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    BoundEvidenceVerifier verifier = new BoundEvidenceVerifier(List.of(org.cloister.trust.attestation.snp.SnpVerifier.development(snp.ark())),
        new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", MEASUREMENT), false),
        Collateral.ofCertificates(snp.chain()));
    return new InferenceClient(channel, verifier, Clock.systemUTC(), new SecureRandom());
  }

  static Evidence snpEvidence(byte[] nonce, byte[] measurement, byte[] boundKey, byte[] boundServed,
                              UnaryOperator<Evidence.Builder> edit) {
    try {
      byte[] report = snp.report(ReportDataBinding.reportData(nonce, boundKey, boundServed), measurement,
          SimulatedSnpPlatform.POLICY);
      return edit.apply(EvidenceWire.confidentialVm("sev-snp", report, List.of(), KEY, SERVED).toBuilder()).build();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void attestsAnEnclaveOnSevSnpAndReadsTheServedModelItsReportBinds() throws Exception {
    AttestationSummary a = client(n -> snpEvidence(n, MEASUREMENT, KEY, SERVED, b -> b)).attest();
    assertThat(a.moduleId()).isEqualTo("sev-snp");
    assertThat(a.measurements()).containsExactly(Map.entry("measurement", "5a".repeat(48)));
    assertThat(a.pcrs()).isEmpty();
    assertThat(a.studyId()).isEqualTo("study-1");
    assertThat(a.modelVersion()).isEqualTo(3);
  }

  @Test
  void anotherImageASubstitutedKeyOrModelAReplayAndANitroDocumentAreRefused() throws Exception {
    assertThatThrownBy(() -> client(n -> snpEvidence(n, filled(0x5b), KEY, SERVED, b -> b)).attest())
        .isInstanceOfSatisfying(AttestationException.class,
            e -> assertThat(e.reason()).isEqualTo(FailureReason.MEASUREMENT_MISMATCH));
    stop();
    byte[] hostKey = new Hpke().generateKeyPair().publicKey();
    assertThatThrownBy(() -> client(n -> snpEvidence(n, MEASUREMENT, KEY, SERVED,
        b -> b.setPublicKey(ByteString.copyFrom(hostKey)))).attest())
        .isInstanceOfSatisfying(AttestationException.class,
            e -> assertThat(e.reason()).isEqualTo(FailureReason.NONCE_MISMATCH));
    stop();
    byte[] otherModel = ServedModel.newBuilder().setStudyId("study-1").setModelVersion(4).build().toByteArray();
    assertThatThrownBy(() -> client(n -> snpEvidence(n, MEASUREMENT, KEY, SERVED,
        b -> b.setUserData(ByteString.copyFrom(otherModel)))).attest())
        .isInstanceOfSatisfying(AttestationException.class,
            e -> assertThat(e.reason()).isEqualTo(FailureReason.NONCE_MISMATCH));
    stop();
    byte[] stale = new byte[32];
    assertThatThrownBy(() -> client(n -> snpEvidence(stale, MEASUREMENT, KEY, SERVED, b -> b)).attest())
        .isInstanceOfSatisfying(AttestationException.class,
            e -> assertThat(e.reason()).isEqualTo(FailureReason.NONCE_MISMATCH));
    stop();
    assertThatThrownBy(() -> client(n -> EvidenceWire.nitro(new byte[] {1, 2, 3})).attest())
        .isInstanceOfSatisfying(AttestationException.class, e -> assertThat(e).hasMessageContaining(
            "the enclave sent nitro evidence but this party pins sev-snp measurements"));
  }
}
