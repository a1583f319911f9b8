package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.cloister.coordinator.enclave.AttestationRelayService;
import org.cloister.coordinator.enclave.SealedModelStore;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.service.ReceiptIssuer;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.AggregateOutput;
import org.cloister.protocol.v1.AggregationReceipt;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ReceiptContribution;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SealedModelCopy;
import org.cloister.protocol.v1.SealedUpdate;
import org.cloister.protocol.v1.SecureAggregatorGrpc;
import org.cloister.protocol.v1.SignedReceipt;
import org.cloister.protocol.v1.SignedSpend;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.agent.UpdateSealer;
import org.cloister.site.ledger.SpendSigner;
import org.cloister.trust.attestation.EnclaveSignatures;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.pki.IssuedCertificate;
import org.cloister.trust.pki.Pem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Site-level central DP in the real enclave process: updates are clipped to S and summed with equal
 * weights (a signed weight of 2^40 changes nothing), the noise on the published model has the
 * policy's scale z*S/W, the release is a DP event in the enclave's signed receipt, and the enclave
 * publishes no more noised models than the policy's budget allows.
 */
class CentralDpEnclaveTest {
  static final String STUDY = "central-dp";
  static final int DIM = 2048;
  static final List<String> SITES = List.of("site-1", "site-2", "site-3");
  static final String OBSERVER = "evaluator";
  static final double S = 1.0;
  static final double Z = 2.0;
  static final double W = 3.0;

  @TempDir
  Path work;

  @Test
  void aNoisedReleaseIsClippedEquallyWeightedAccountedInTheSignedReceiptAndCapped() throws Exception {
    List<String> members = new ArrayList<>(SITES);
    members.add(OBSERVER);
    AggregationPolicy policy = new AggregationPolicy(AggregationPolicy.FORMAT, STUDY, "toy", DIM, 1e30, 1, 3,
        new AggregationPolicy.CentralDp(S, Z, W, 1, 1e-5), AggregationPolicy.FEDAVG);
    SecureAggregationStack.Setup setup = SecureAggregationStack.prepare(work.resolve("consortium"), policy, members,
        Set.of(OBSERVER), null, SecureAggregationStack.locateImage(), null);
    try (SecureAggregationStack stack = SecureAggregationStack.launch(setup, null, false)) {
      SealedModelStore store = new SealedModelStore(work.resolve("store"));
      Server relay = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).maxInboundMessageSize(64 << 20)
          .addService(new AttestationRelayService(stack.enclave().channel(), store)).build().start();
      ManagedChannel relayChannel = NettyChannelBuilder.forAddress("127.0.0.1", relay.getPort()).usePlaintext()
          .maxInboundMessageSize(64 << 20).build();
      try {
        Map<String, IssuedCertificate> certs = new HashMap<>();
        for (String m : members) {
          certs.put(m, setup.issue(m));
        }
        byte[] p0 = FloatCodec.encode(new float[DIM]);
        ModelArtifact base = ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(1).setModelName("toy")
            .setDimension(DIM).setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(p0))
            .setSha256(ByteString.copyFrom(FloatCodec.sha256(p0))).build();
        RoundTask task = RoundTask.newBuilder().setStudyId(STUDY).setRound(1).setRoundId("r1").setModel(base).build();
        Map<String, float[]> values = new HashMap<>();
        List<SealedUpdate> updates = new ArrayList<>();
        // site-1 first sends a signed update the enclave refuses (wrong dimension), then its real one:
        // the receipt must name the statement of the update that went into the sum
        updates.add(honest(stack, relayChannel, certs.get("site-1"), "site-1", 10, task, new float[DIM - 4]));
        for (String s : SITES) {
          // site-3's update is huge (norm ~ 4.5e4) and carries a signed weight of 2^40
          values.put(s, values(s, s.equals("site-3") ? 1e3 : 0.01));
          updates.add(honest(stack, relayChannel, certs.get(s), s, s.equals("site-3") ? 1L << 40 : 10, task,
              values.get(s)));
        }
        AggregateOutput out = aggregate(stack, task, updates);
        assertThat(out.getPublished()).isTrue();
        assertThat(out.getAggregatedList()).containsExactlyElementsOf(SITES);
        store.putArtifact(out.getModel());
        for (SealedModelCopy c : out.getCopiesList()) {
          store.putCopy(c);
        }

        // the signed receipt: the enclave's attested key, the DP event, the policy's noise scale
        SignedReceipt signed = out.getReceipt();
        byte[] body = signed.getReceipt().toByteArray();
        VerifiedAttestation att = new NitroAttestationVerifier(Pem.readCertificate(setup.devRootCert())).verify(
            signed.getAttestationDocument().toByteArray(), VerificationPolicy.at(Instant.now())
                .withExpectedNonce(MessageDigest.getInstance("SHA-256").digest(body))
                .withExpectedPcr(0, setup.expectedPcrs().get(0)).withExpectedPcr(1, setup.expectedPcrs().get(1))
                .withExpectedPcr(2, setup.expectedPcrs().get(2)));
        assertThat(EnclaveSignatures.verify(att, ReceiptIssuer.PURPOSE, body, signed.getSignature().toByteArray()))
            .isTrue();
        AggregationReceipt receipt = AggregationReceipt.parseFrom(body);
        assertThat(receipt.getCentralDpEvent()).isEqualTo("{\"type\":\"gaussian\",\"noise_multiplier\":2.0}");
        assertThat(receipt.getCentralNoiseStddev()).isEqualTo(Z * S / W);
        assertThat(receipt.getContributionsList()).extracting(ReceiptContribution::getSiteId)
            .containsExactlyElementsOf(SITES);
        for (int i = 0; i < SITES.size(); i++) {
          assertThat(receipt.getContributions(i).getStatementSha256().toByteArray()).as(SITES.get(i))
              .isEqualTo(FloatCodec.sha256(updates.get(i + 1).getContribution().getStatement().toByteArray()));
        }
        assertThat(receipt.getRejectedList()).anySatisfy(r -> assertThat(r.getReason()).startsWith("wrong_dimension"));
        assertThat(receipt.getModelSha256().toByteArray())
            .isEqualTo(FloatCodec.sha256(out.getModel().getPayload().toByteArray()));

        // the model: (u1 + u2 + clip_S(u3)) / W plus noise of std z S / W per coordinate, whatever the weights
        float[] model = stack.open(OBSERVER, out.getModel(), relayChannel);
        float[] u3 = values.get("site-3");
        double n3 = 0;
        for (float v : u3) {
          n3 += (double) v * v;
        }
        double clip = S / Math.sqrt(n3);
        double sq = 0;
        for (int i = 0; i < DIM; i++) {
          double expected = (values.get("site-1")[i] + values.get("site-2")[i] + clip * u3[i]) / W;
          double r = model[i] - expected;
          sq += r * r;
        }
        // 2048 coordinates: the empirical std is within ~1.6 % (one sd) of 2/3; the weighted mean would be ~1e3 off
        assertThat(Math.sqrt(sq / DIM)).isCloseTo(Z * S / W, org.assertj.core.data.Offset.offset(0.08 * Z * S / W));

        // the budget covers one noised model: the enclave refuses a second
        RoundTask t2 = RoundTask.newBuilder().setStudyId(STUDY).setRound(2).setRoundId("r2").setModel(out.getModel()).build();
        List<SealedUpdate> second = new ArrayList<>();
        for (String s : SITES) {
          second.add(honest(stack, relayChannel, certs.get(s), s, 10, t2, values(s + "/2", 0.01)));
        }
        assertThatThrownBy(() -> aggregate(stack, t2, second))
            .hasMessageContaining("the site-level central DP budget allows 1 noised model(s) and all were published");
      } finally {
        relayChannel.shutdownNow();
        relay.shutdownNow();
      }
    }
  }

  static float[] values(String site, double scale) {
    Random r = new Random(site.hashCode());
    float[] d = new float[DIM];
    for (int i = 0; i < DIM; i++) {
      d[i] = (float) (r.nextGaussian() * scale);
    }
    return d;
  }

  /** What an honest site sends (real site code: its sealer fetches and checks the attestation and challenge). */
  static SealedUpdate honest(SecureAggregationStack stack, ManagedChannel relay, IssuedCertificate cert, String site,
                             long examples, RoundTask task, float[] v) {
    UpdateSealer.Sealed sealed = stack.sealer(site, relay).seal(task, v);
    SpendSigner signer = new SpendSigner(site, cert.privateKey(), cert.certificate(), 1e-5, "ds-" + site);
    SignedSpend spend = signer.sign(task, LocalUpdate.nonPrivate(v, examples, Map.of()));
    return SealedUpdate.newBuilder().setSiteId(site).setNumExamples(examples)
        .setBaseModelVersion(task.getModel().getVersion()).setPayloadFormat(sealed.format())
        .setPayload(ByteString.copyFrom(sealed.payload()))
        .setContribution(signer.signContribution(task, examples, sealed.format(), sealed.payload(),
            sealed.roundChallenge(), sealed.baseModelSha256(), spend)).build();
  }

  static AggregateOutput aggregate(SecureAggregationStack stack, RoundTask t, List<SealedUpdate> updates)
      throws Exception {
    return SecureAggregationTest.aggregate(SecureAggregatorGrpc.newStub(stack.enclave().channel()),
        SecureAggregationTest.header(t), updates.toArray(SealedUpdate[]::new));
  }
}
