package org.cloister.site.sealing;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.AttestationRelayGrpc;
import org.cloister.protocol.v1.AttestationRequest;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.UpdateAad;
import org.cloister.site.agent.UpdateSealer;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.AttestationVerifier;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.attestation.nitro.AwsNitroRoot;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.hpke.FastHpke;
import org.cloister.trust.hpke.HpkeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Seals each update to the attested secure aggregator. For every update it asks (through the
 * coordinator's relay) for a fresh attestation document carrying its own random nonce, verifies the
 * document's chain, its PCRs against the values the consortium expects and the nonce, and
 * encrypts the update with HPKE (RFC 9180: X25519, HKDF-SHA256, AES-256-GCM) to the public key
 * the document binds. The associated data binds study, round, round id, site, base model version
 * and dimension, so the coordinator cannot relabel or replay it into another context. Global
 * models are opened with this site's sealing key ({@link SealedModelOpener}).
 */
public final class AttestedHpkeSealer implements UpdateSealer {
  /** Payload format of sealed updates: HPKE's context messages over 4096-byte segments ({@link FastHpke#sealStream}). */
  public static final String UPDATE_FORMAT = "hpke-x25519-aes256gcm-stream4k-v1";
  static final byte[] UPDATE_INFO = "cloister/v1 update".getBytes(StandardCharsets.US_ASCII);
  private static final Logger log = LoggerFactory.getLogger(AttestedHpkeSealer.class);
  private static final int NONCE_BYTES = 32;

  private final AttestationRelayGrpc.AttestationRelayBlockingStub relay;
  private final String siteId;
  private final AttestationVerifier verifier;
  private final Map<Integer, byte[]> expectedPcrs;
  private final Clock clock;
  private final SecureRandom random;
  private final SealedModelOpener opener;

  /**
   * @param coordinator  channel to the coordinator (serves the attestation relay)
   * @param siteId       this site's identity as the coordinator's transport establishes it
   * @param verifier     attestation verifier with the consortium's trust root
   * @param expectedPcrs PCR values the consortium published for the enclave (at least PCR0..2)
   * @param opener       opens global models sealed to this site
   */
  public AttestedHpkeSealer(Channel coordinator, String siteId, AttestationVerifier verifier,
                            Map<Integer, byte[]> expectedPcrs, SealedModelOpener opener, Clock clock, SecureRandom random) {
    this.relay = AttestationRelayGrpc.newBlockingStub(coordinator);
    this.siteId = Objects.requireNonNull(siteId, "siteId");
    this.verifier = Objects.requireNonNull(verifier, "verifier");
    for (int i = 0; i <= 2; i++) {
      if (!expectedPcrs.containsKey(i)) {
        throw new IllegalArgumentException("expected PCR" + i + " is missing: the site must pin the enclave's code, "
            + "configuration and policy");
      }
    }
    TreeMap<Integer, byte[]> copy = new TreeMap<>();
    expectedPcrs.forEach((k, v) -> copy.put(k, v.clone()));
    this.expectedPcrs = copy;
    this.opener = Objects.requireNonNull(opener, "opener");
    if (verifier instanceof NitroAttestationVerifier n && !n.trustRoot().equals(AwsNitroRoot.certificate())) {
      log.warn("site {} trusts a NON-AWS attestation root ({}): enclave documents prove nothing about isolation. "
          + "Development only: never with real patient data.", siteId, n.trustRoot().getSubjectX500Principal().getName());
    }
    this.clock = clock;
    this.random = random;
  }

  @Override
  public Sealed seal(RoundTask task, float[] delta) {
    VerifiedAttestation enclave = attest(task.getStudyId());
    byte[] pk = enclave.publicKey().orElseThrow(() -> new SealingException(
        "the enclave's attestation document binds no public key to encrypt to"));
    byte[] aad = aad(task.getStudyId(), task.getRound(), task.getRoundId(), siteId, task.getModel().getVersion(),
        delta.length);
    byte[] plain = FloatCodec.encode(delta);
    try {
      // the JDK's AES-GCM (processor instructions); a FastHpke is cheap and not thread-safe: one per update
      byte[] sealed = new FastHpke().sealStream(pk, UPDATE_INFO, aad, plain, random);
      return new Sealed(UPDATE_FORMAT, sealed, Map.of());
    } catch (HpkeException e) {
      throw new SealingException("cannot encrypt to the enclave's key: " + e.getMessage(), e);
    } finally {
      java.util.Arrays.fill(plain, (byte) 0);
    }
  }

  @Override
  public float[] openGlobalModel(RoundTask task, int dimension) {
    return opener.open(task.getModel(), dimension);
  }

  /** A fresh document with our own nonce, verified against the consortium's expectations. */
  VerifiedAttestation attest(String studyId) {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    byte[] doc;
    try {
      doc = relay.withDeadlineAfter(30, TimeUnit.SECONDS).getAttestation(AttestationRequest.newBuilder()
          .setStudyId(studyId).setNonce(ByteString.copyFrom(nonce)).build()).getDocument().toByteArray();
    } catch (StatusRuntimeException e) {
      throw new SealingException("cannot obtain the enclave's attestation document: " + e.getStatus().getCode()
          + ": " + e.getStatus().getDescription(), e);
    }
    VerificationPolicy policy = VerificationPolicy.at(clock.instant()).withExpectedNonce(nonce);
    for (Map.Entry<Integer, byte[]> e : expectedPcrs.entrySet()) {
      policy = policy.withExpectedPcr(e.getKey(), e.getValue());
    }
    try {
      VerifiedAttestation a = verifier.verify(doc, policy);
      log.debug("site {}: enclave {} attested (PCR0 {})", siteId, a.moduleId(), a.pcrs().get(0));
      return a;
    } catch (AttestationException e) {
      throw new SealingException("the enclave's attestation was refused (" + e.reason() + "): " + e.getMessage()
          + "; not sending the update", e);
    }
  }

  /** The associated data of an update (shared with the enclave through {@code UpdateAad} in enclave.proto). */
  public static byte[] aad(String studyId, int round, String roundId, String siteId, long baseModelVersion, int dimension) {
    return UpdateAad.newBuilder().setStudyId(studyId).setRound(round).setRoundId(roundId).setSiteId(siteId)
        .setBaseModelVersion(baseModelVersion).setDimension(dimension).build().toByteArray();
  }

  @Override
  public String toString() {
    return "AttestedHpkeSealer[site " + siteId + ", PCR0 " + HexFormat.of().formatHex(expectedPcrs.get(0)) + "]";
  }
}
