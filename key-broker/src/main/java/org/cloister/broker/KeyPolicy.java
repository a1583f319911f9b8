package org.cloister.broker;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the broker requires before it releases a data key under {@code keyId}: the key must be
 * enabled, and the requester's attestation document must carry exactly these PCR values.
 *
 * @param keyId        the key-encryption key
 * @param enabled      false: every request is refused (everything wrapped with the key is unreadable)
 * @param expectedPcrs PCR index to lowercase hex value (at least PCR0, the code measurement)
 */
public record KeyPolicy(@JsonProperty("key_id") String keyId,
                        @JsonProperty("enabled") boolean enabled,
                        @JsonProperty("expected_pcrs") Map<Integer, String> expectedPcrs) {

  public KeyPolicy {
    BrokerKeystore.checkKeyId(keyId);
    if (expectedPcrs == null || !expectedPcrs.containsKey(0)) {
      throw new IllegalArgumentException("policy of key " + keyId + " must pin at least PCR0 (the enclave code)");
    }
    TreeMap<Integer, String> copy = new TreeMap<>();
    for (Map.Entry<Integer, String> e : expectedPcrs.entrySet()) {
      int index = e.getKey();
      String hex = e.getValue() == null ? "" : e.getValue().trim().toLowerCase(java.util.Locale.ROOT);
      if (index < 0 || index > 31) {
        throw new IllegalArgumentException("policy of key " + keyId + ": PCR index must be 0..31, got " + index);
      }
      if (!hex.matches("[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128}")) {
        throw new IllegalArgumentException("policy of key " + keyId + ": PCR" + index
            + " must be 32, 48 or 64 bytes of hex");
      }
      copy.put(index, hex);
    }
    expectedPcrs = java.util.Collections.unmodifiableMap(copy);
  }

  /** A policy pinning raw PCR values. */
  public static KeyPolicy of(String keyId, Map<Integer, byte[]> pcrs) {
    Map<Integer, String> hex = new TreeMap<>();
    pcrs.forEach((k, v) -> hex.put(k, HexFormat.of().formatHex(v)));
    return new KeyPolicy(keyId, true, hex);
  }

  public KeyPolicy withEnabled(boolean on) {
    return new KeyPolicy(keyId, on, expectedPcrs);
  }
}
