package org.cloister.inference.client;

import java.time.Instant;
import java.util.Map;

/**
 * What a client verified before it sent a query: the enclave's module id, the document's time,
 * the PCRs it pinned (hex), and the model the enclave says (in the signed document) that it serves.
 */
public record AttestationSummary(String moduleId, Instant timestamp, Map<Integer, String> pcrs, String studyId,
                                 String modelName, long modelVersion, int numFeatures, int numClasses,
                                 String artifactSha256) {
  public AttestationSummary {
    pcrs = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(pcrs));
  }
}
