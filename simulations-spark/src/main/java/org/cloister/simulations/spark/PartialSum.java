package org.cloister.simulations.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one partition's task returns for a round, and what the tree aggregation combines: the
 * weighted sum of its sites' valid updates (the enclave's arithmetic), their total weight, the
 * sites refused with why, and each trained site's envelope (its signed spend; the payload is a
 * digest of the update, never the update). No update crosses the network on its own.
 */
final class PartialSum implements Serializable {
  private static final long serialVersionUID = 1L;

  float[] sum; // null while empty
  double weight;
  final List<String> accepted = new ArrayList<>();
  final Map<String, String> rejected = new LinkedHashMap<>();
  /** Per trained site: its UpdateEnvelope (serialized) and its certificate, for the coordinator's ledger. */
  final List<Submission> submissions = new ArrayList<>();

  record Submission(String siteId, java.security.cert.X509Certificate certificate, byte[] envelope) implements Serializable {
  }

  static PartialSum empty() {
    return new PartialSum();
  }

  /** Adds {@code other} into this one (float adds, as the enclave's kernel does for two partial sums). */
  PartialSum merge(PartialSum other) {
    if (other.sum != null) {
      if (sum == null) {
        sum = other.sum.clone();
      } else {
        for (int i = 0; i < sum.length; i++) {
          sum[i] += other.sum[i];
        }
      }
    }
    weight += other.weight;
    accepted.addAll(other.accepted);
    rejected.putAll(other.rejected);
    submissions.addAll(other.submissions);
    return this;
  }
}
