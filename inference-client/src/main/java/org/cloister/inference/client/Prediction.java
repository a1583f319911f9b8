package org.cloister.inference.client;

/**
 * The enclave's answer to one query.
 *
 * @param requestId     the request's id (as audited by the enclave)
 * @param modelVersion  the model version that produced it
 * @param probabilities per row, the probability of each class
 */
public record Prediction(String requestId, long modelVersion, float[][] probabilities) {
}
