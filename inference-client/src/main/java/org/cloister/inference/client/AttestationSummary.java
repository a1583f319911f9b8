package org.cloister.inference.client;

import java.time.Instant;
import java.util.Map;

/**
 * What a client verified before it sent a query: the enclave's module id (on SEV-SNP / TDX: the
 * platform), the document's time (SEV-SNP / TDX reports carry none: the verification instant), the
 * PCRs it pinned (hex; empty on SEV-SNP / TDX), and the model the enclave says (in the signed
 * evidence) that it serves; {@code measurements} are the pinned measurements by name on every
 * platform ({@code pcr0}.. on Nitro); {@code modelCard} is the study's features, their public rules
 * and its class names as the enclave's measured policy fixes them (its digest is in the signed
 * evidence), or null when the enclave serves none.
 */
public record AttestationSummary(String moduleId, Instant timestamp, Map<Integer, String> pcrs, String studyId,
                                 String modelName, long modelVersion, int numFeatures, int numClasses,
                                 String artifactSha256, Map<String, String> measurements,
                                 org.cloister.data.ModelCard modelCard) {
  public AttestationSummary {
    pcrs = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(pcrs));
    measurements = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(measurements));
  }
}
