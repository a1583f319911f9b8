package org.cloister.site.ledger;

import com.google.protobuf.ByteString;
import java.security.PrivateKey;
import org.cloister.dp.events.DpEventJson;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SignedSpend;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.trust.ledger.SpendSignatures;

/** Signs the site's privacy spends with the key of its consortium certificate. */
public final class SpendSigner {
  private final String siteId;
  private final PrivateKey key;
  private final double delta;
  private final String datasetId;

  /**
   * @param siteId    the site's identity (its certificate's common name)
   * @param delta     the delta at which the site reports its cumulative epsilon
   * @param datasetId the dataset the site trains on ({@link DatasetFingerprint}); its budget spans studies
   */
  public SpendSigner(String siteId, PrivateKey key, double delta, String datasetId) {
    if (datasetId == null || datasetId.isBlank()) {
      throw new IllegalArgumentException("a spend signer needs the dataset id its spends are filed under");
    }
    this.siteId = siteId;
    this.key = key;
    this.delta = delta;
    this.datasetId = datasetId;
  }

  /** The dataset this site's spends are made on. */
  public String datasetId() {
    return datasetId;
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
