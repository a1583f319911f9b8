package org.cloister.inference.enclave;

import com.fasterxml.jackson.annotation.JsonProperty;
import org.cloister.data.ModelCard;
import org.cloister.enclave.runtime.MeasuredJson;

/**
 * What the inference enclave serves, measured into PCR2: the study whose model it may load, the
 * architecture and its shape, and the largest batch it scores at once. A client that pins PCR2
 * knows which model answers it.
 *
 * @param format        {@value #FORMAT}
 * @param studyId       the study whose published artifacts the enclave loads
 * @param modelName     architecture name in the model zoo ({@code logreg}, {@code mlp}, {@code cnn})
 * @param numFeatures   features per query row
 * @param numClasses    classes the model predicts
 * @param maxBatchRows  largest number of rows one query may carry
 * @param modelCard     the study's features with their public rules and its class names
 *                      ({@link ModelCard}), served with every attestation so that clients transform
 *                      raw values as training did; null: none (clients then refuse raw values)
 */
public record InferencePolicy(@JsonProperty("format") String format,
                              @JsonProperty("study_id") String studyId,
                              @JsonProperty("model_name") String modelName,
                              @JsonProperty("num_features") int numFeatures,
                              @JsonProperty("num_classes") int numClasses,
                              @JsonProperty("max_batch_rows") int maxBatchRows,
                              @JsonProperty("model_card") ModelCard modelCard) {
  public static final String FORMAT = "cloister-inference-policy/v2";

  public InferencePolicy {
    if (!FORMAT.equals(format)) {
      throw new IllegalArgumentException("inference policy format must be '" + FORMAT + "', got '" + format + "'");
    }
    if (studyId == null || studyId.isBlank()) {
      throw new IllegalArgumentException("inference policy: study_id is missing");
    }
    if (modelName == null || modelName.isBlank()) {
      throw new IllegalArgumentException("inference policy: model_name is missing");
    }
    if (numFeatures < 1 || numClasses < 2) {
      throw new IllegalArgumentException("inference policy: num_features must be >= 1 and num_classes >= 2, got "
          + numFeatures + " and " + numClasses);
    }
    if (maxBatchRows < 1 || maxBatchRows > 65_536) {
      throw new IllegalArgumentException("inference policy: max_batch_rows must be 1..65536, got " + maxBatchRows);
    }
    if (modelCard != null) {
      if (!modelCard.studyId().equals(studyId)) {
        throw new IllegalArgumentException("inference policy: the model card is study " + modelCard.studyId()
            + "'s, the policy serves study " + studyId);
      }
      if (modelCard.features().size() != numFeatures || modelCard.classes().size() != numClasses) {
        throw new IllegalArgumentException("inference policy: the model card has " + modelCard.features().size()
            + " features and " + modelCard.classes().size() + " classes, the model " + numFeatures + " and " + numClasses);
      }
    }
  }

  /** A policy without a model card (clients must then send model inputs, not raw values). */
  public static InferencePolicy of(String studyId, String modelName, int numFeatures, int numClasses) {
    return new InferencePolicy(FORMAT, studyId, modelName, numFeatures, numClasses, 4096, null);
  }

  /** A policy serving {@code card} with the model (its feature and class counts are the card's). */
  public static InferencePolicy of(String modelName, ModelCard card) {
    return new InferencePolicy(FORMAT, card.studyId(), modelName, card.features().size(), card.classes().size(), 4096,
        card);
  }

  public static InferencePolicy parse(byte[] json) {
    return MeasuredJson.parse(json, InferencePolicy.class, "inference policy");
  }

  public byte[] toJson() {
    return MeasuredJson.write(this);
  }
}
