package org.cloister.broker;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * What the broker requires before it releases a data key under {@code keyId}: the key must be
 * enabled, and the requester's attestation document must carry exactly the PCR values of a role
 * allowed the operation: the key's producer ({@code expectedPcrs}: the secure aggregator, which
 * generates model data keys and decrypts its own artifacts) or one of the {@code grants}, each
 * naming another enclave by its own PCRs and the operations it may use (the inference enclave:
 * {@code Decrypt} only).
 *
 * @param keyId        the key-encryption key
 * @param enabled      false: every request is refused (everything wrapped with the key is unreadable)
 * @param expectedPcrs the producer's PCRs: index to lowercase hex value (at least PCR0, the code measurement)
 * @param grants       further enclaves admitted to the key, each with its own PCRs (may be empty)
 */
public record KeyPolicy(@JsonProperty("key_id") String keyId,
                        @JsonProperty("enabled") boolean enabled,
                        @JsonProperty("expected_pcrs") Map<Integer, String> expectedPcrs,
                        @JsonProperty("grants") @JsonInclude(JsonInclude.Include.NON_EMPTY) List<Grant> grants) {

  /** The role name of the key's producer ({@link #expectedPcrs()}) in audit records. */
  public static final String PRODUCER = "producer";
  /** The operations a grant may name. */
  public static final Set<String> OPERATIONS = Set.of("GenerateDataKey", "Decrypt");
  private static final Pattern ROLE = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

  /**
   * Another enclave admitted to the key.
   *
   * @param role         its name in audit records and refusals, e.g. {@code inference}
   * @param operations   what it may do: {@code Decrypt} and/or {@code GenerateDataKey}
   * @param expectedPcrs its PCRs (at least PCR0)
   */
  public record Grant(@JsonProperty("role") String role,
                      @JsonProperty("operations") List<String> operations,
                      @JsonProperty("expected_pcrs") Map<Integer, String> expectedPcrs) {
    public Grant {
      if (role == null || !ROLE.matcher(role).matches() || PRODUCER.equals(role)) {
        throw new IllegalArgumentException("grant role '" + role + "' must be 1..64 characters of [a-z0-9._-] and not '"
            + PRODUCER + "'");
      }
      if (operations == null || operations.isEmpty() || !OPERATIONS.containsAll(operations)) {
        throw new IllegalArgumentException("grant " + role + ": operations must be a non-empty subset of " + OPERATIONS
            + ", got " + operations);
      }
      operations = List.copyOf(operations);
      expectedPcrs = normalize("grant " + role, expectedPcrs);
    }

    /** A grant pinning raw PCR values. */
    public static Grant of(String role, List<String> operations, Map<Integer, byte[]> pcrs) {
      return new Grant(role, operations, hex(pcrs));
    }
  }

  public KeyPolicy {
    BrokerKeystore.checkKeyId(keyId);
    expectedPcrs = normalize("policy of key " + keyId, expectedPcrs);
    grants = grants == null ? List.of() : List.copyOf(grants);
    Set<String> roles = new java.util.HashSet<>();
    for (Grant g : grants) {
      if (!roles.add(g.role())) {
        throw new IllegalArgumentException("policy of key " + keyId + ": role " + g.role() + " is granted twice");
      }
    }
  }

  public KeyPolicy(String keyId, boolean enabled, Map<Integer, String> expectedPcrs) {
    this(keyId, enabled, expectedPcrs, List.of());
  }

  /** A policy pinning raw PCR values. */
  public static KeyPolicy of(String keyId, Map<Integer, byte[]> pcrs) {
    return new KeyPolicy(keyId, true, hex(pcrs));
  }

  public KeyPolicy withEnabled(boolean on) {
    return new KeyPolicy(keyId, on, expectedPcrs, grants);
  }

  /** This policy with {@code grant} added (replacing a grant of the same role). */
  public KeyPolicy withGrant(Grant grant) {
    List<Grant> next = new ArrayList<>();
    for (Grant g : grants) {
      if (!g.role().equals(grant.role())) {
        next.add(g);
      }
    }
    next.add(grant);
    return new KeyPolicy(keyId, enabled, expectedPcrs, next);
  }

  /** Role name to PCRs of every role allowed {@code operation}, the producer first. */
  public Map<String, Map<Integer, String>> rolesFor(String operation) {
    Map<String, Map<Integer, String>> out = new java.util.LinkedHashMap<>();
    out.put(PRODUCER, expectedPcrs);
    for (Grant g : grants) {
      if (g.operations().contains(operation)) {
        out.put(g.role(), g.expectedPcrs());
      }
    }
    return out;
  }

  private static Map<Integer, String> hex(Map<Integer, byte[]> pcrs) {
    Map<Integer, String> hex = new TreeMap<>();
    pcrs.forEach((k, v) -> hex.put(k, HexFormat.of().formatHex(v)));
    return hex;
  }

  private static Map<Integer, String> normalize(String what, Map<Integer, String> pcrs) {
    if (pcrs == null || !pcrs.containsKey(0)) {
      throw new IllegalArgumentException(what + " must pin at least PCR0 (the enclave code)");
    }
    TreeMap<Integer, String> copy = new TreeMap<>();
    for (Map.Entry<Integer, String> e : pcrs.entrySet()) {
      int index = e.getKey();
      String hex = e.getValue() == null ? "" : e.getValue().trim().toLowerCase(Locale.ROOT);
      if (index < 0 || index > 31) {
        throw new IllegalArgumentException(what + ": PCR index must be 0..31, got " + index);
      }
      if (!hex.matches("[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128}")) {
        throw new IllegalArgumentException(what + ": PCR" + index + " must be 32, 48 or 64 bytes of hex");
      }
      copy.put(index, hex);
    }
    return Collections.unmodifiableMap(copy);
  }
}
