package org.cloister.site.ledger;

import com.google.protobuf.ByteString;
import org.cloister.trust.hpke.StreamBinding;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ContributionStatement;
import org.cloister.protocol.v1.SignedContribution;
import org.cloister.dp.events.DpEventJson;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SignedSpend;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.trust.ledger.SpendSignatures;

/**
 * Signs, with the key of the site's consortium certificate, its privacy spends and its contribution
 * statements (what the secure aggregator authenticates each update by: docs/trust.md).
 */
public final class SpendSigner {
  private final String siteId;
  private final PrivateKey key;
  private final X509Certificate certificate;
  private final double delta;
  private final String datasetId;

  /**
   * A signer of spends only: contributions to the secure aggregator cannot be authenticated with it.
   *
   * @param siteId    the site's identity (its certificate's common name)
   * @param delta     the delta at which the site reports its cumulative epsilon
   * @param datasetId the dataset the site trains on ({@link DatasetFingerprint}); its budget spans studies
   */
  public SpendSigner(String siteId, PrivateKey key, double delta, String datasetId) {
    this(siteId, key, null, delta, datasetId);
  }

  /**
   * @param certificate the site's consortium certificate (the public half of {@code key}), sent with
   *                    every contribution statement
   */
  public SpendSigner(String siteId, PrivateKey key, X509Certificate certificate, double delta, String datasetId) {
    if (datasetId == null || datasetId.isBlank()) {
      throw new IllegalArgumentException("a spend signer needs the dataset id its spends are filed under");
    }
    this.siteId = siteId;
    this.key = key;
    this.certificate = certificate;
    this.delta = delta;
    this.datasetId = datasetId;
  }

  /** The site this signer signs for (its certificate's common name). */
  public String siteId() {
    return siteId;
  }

  /** The dataset this site's spends are made on. */
  public String datasetId() {
    return datasetId;
  }

  /** Whether this signer can sign contribution statements (it holds the site's certificate). */
  public boolean signsContributions() {
    return certificate != null;
  }

  /**
   * The signed statement binding an update to its round, the enclave's round challenge, the base
   * model, the site's weight, the privacy spend and the sealed payload exactly as sent.
   */
  /** The payload format whose statements bind {@link StreamBinding}'s digest (payload binding 2). */
  public static final String STREAM_FORMAT = "hpke-x25519-aes256gcm-stream4k-v1";
  /** {@code ContributionStatement.payload_binding} of {@link StreamBinding}. */
  public static final int PAYLOAD_BINDING_STREAM = 2;

  public SignedContribution signContribution(RoundTask task, long numExamples, String payloadFormat, byte[] payload,
                                             byte[] roundChallenge, byte[] baseModelSha256, SignedSpend spend) {
    if (certificate == null) {
      throw new IllegalStateException("site " + siteId + " has no consortium certificate to sign its contribution with");
    }
    ContributionStatement.Builder st = ContributionStatement.newBuilder()
        .setStudyId(task.getStudyId()).setRound(task.getRound()).setRoundId(task.getRoundId())
        .setRoundChallenge(ByteString.copyFrom(roundChallenge)).setBaseModelVersion(task.getModel().getVersion())
        .setBaseModelSha256(ByteString.copyFrom(baseModelSha256))
        .setSiteId(siteId).setNumExamples(numExamples)
        .setSpendSha256(ByteString.copyFrom(FloatCodec.sha256(spend.getSpend().toByteArray())))
        .setPayloadFormat(payloadFormat);
    if (STREAM_FORMAT.equals(payloadFormat)) {
      // binding 2: enc, length and every segment's tag (the enclave then authenticates every segment under the
      // key that enc fixes), not a second SHA-256 pass over the 4 MB ciphertext (docs/trust.md)
      st.setPayloadBinding(PAYLOAD_BINDING_STREAM).setPayloadBindingSha256(ByteString.copyFrom(StreamBinding.digest(payload)));
    } else {
      st.setPayloadSha256(ByteString.copyFrom(FloatCodec.sha256(payload)));
    }
    ContributionStatement statement = st.build();
    byte[] bytes = statement.toByteArray();
    try {
      return SignedContribution.newBuilder().setStatement(ByteString.copyFrom(bytes))
          .setSignature(ByteString.copyFrom(SpendSignatures.sign(bytes, key)))
          .setCertificate(ByteString.copyFrom(certificate.getEncoded())).build();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException("cannot encode the site's certificate: " + e.getMessage(), e);
    }
  }

  public SignedSpend sign(RoundTask task, LocalUpdate update) {
    PrivacySpend spend = PrivacySpend.newBuilder()
        .setStudyId(task.getStudyId())
        .setPartyId(siteId)
        .setRound(task.getRound())
        .setRoundId(task.getRoundId())
        .setEventJson(DpEventJson.toJson(update.spent()))
        .setEpsilonAfter(update.epsilonAfter())
        .setDelta(delta)
        .setTimestampMs(System.currentTimeMillis())
        .setDatasetId(datasetId)
        .build();
    byte[] bytes = spend.toByteArray();
    return SignedSpend.newBuilder().setSpend(ByteString.copyFrom(bytes))
        .setSignature(ByteString.copyFrom(SpendSignatures.sign(bytes, key))).build();
  }
}
