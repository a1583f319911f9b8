package org.cloister.broker;

import com.fasterxml.jackson.annotation.JsonCreator;
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
import org.cloister.trust.attestation.EvidencePolicy;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.TeePlatform;

/**
 * What the broker requires before it releases a data key under {@code keyId}: the key must be
 * enabled, and the requester's evidence must carry exactly the measurements of a role allowed the
 * operation: the key's producer (the secure aggregator, which generates model data keys and decrypts
 * its own artifacts) or one of the {@code grants}, each naming another enclave by its own
 * measurements and the operations it may use (the inference enclave: {@code Decrypt} only).
 *
 * <p>Each role pins its enclave on one platform: a Nitro enclave by {@code expected_pcrs} (PCR index to
 * hex, at least PCR0), an enclave on a confidential VM by {@code platform} ({@code sev-snp} or
 * {@code tdx}) and {@code expected_measurements} (named, as in {@link MeasurementPins}: SEV-SNP
 * {@code measurement}; TDX {@code mr_td}, {@code rtmr0}..{@code rtmr3}), with {@code accept_tcb}
 * ({@code up-to-date}, the default, or {@code out-of-date}). The two forms exclude each other; a role
 * pinning neither is refused.
 *
 * @param keyId        the key-encryption key
 * @param enabled      false: every request is refused (everything wrapped with the key is unreadable)
 * @param expectedPcrs the producer's PCRs (Nitro), or null when it runs on a confidential VM
 * @param grants       further enclaves admitted to the key, each with its own measurements (may be empty)
 * @param platform     the producer's platform: null or {@code nitro} with PCRs, else {@code sev-snp} / {@code tdx}
 * @param expectedMeasurements the producer's named measurements (SEV-SNP, TDX), or null
 * @param acceptTcb    {@code out-of-date} tolerates a TDX TCB other than UpToDate (never Revoked); null is up-to-date
 * @param maxVmpl      SEV-SNP: the least privileged VMPL accepted; null is the platform's default (0: VMPL 0 only)
 * @param minTcb       SEV-SNP: minimum SVN per TCB component ({@code bootloader}, {@code tee}, {@code snp},
 *                     {@code microcode}, {@code fmc}); null or empty: none
 * @param minTcbEvaluationDataNumber TDX: the oldest Intel TCB evaluation accepted; null: any
 *
 * <p>The three floors are {@link EvidencePolicy.TcbFloor}, with the names and rules of a
 * {@code cloister-measurements/v1} file ({@link MeasurementPins#read}); a policy built {@link #of(String,
 * MeasurementPins)} keeps the pins' floor, so the broker enforces what the sites enforce.
 */
public record KeyPolicy(@JsonProperty("key_id") String keyId,
                        @JsonProperty("enabled") boolean enabled,
                        @JsonProperty("expected_pcrs") @JsonInclude(JsonInclude.Include.NON_NULL) Map<Integer, String> expectedPcrs,
                        @JsonProperty("grants") @JsonInclude(JsonInclude.Include.NON_EMPTY) List<Grant> grants,
                        @JsonProperty("platform") @JsonInclude(JsonInclude.Include.NON_NULL) String platform,
                        @JsonProperty("expected_measurements") @JsonInclude(JsonInclude.Include.NON_NULL)
                        Map<String, String> expectedMeasurements,
                        @JsonProperty("accept_tcb") @JsonInclude(JsonInclude.Include.NON_NULL) String acceptTcb,
                        @JsonProperty("max_vmpl") @JsonInclude(JsonInclude.Include.NON_NULL) Integer maxVmpl,
                        @JsonProperty("min_tcb") @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, Integer> minTcb,
                        @JsonProperty("min_tcb_evaluation_data_number") @JsonInclude(JsonInclude.Include.NON_NULL)
                        Integer minTcbEvaluationDataNumber) {

  /** The role name of the key's producer ({@link #expectedPcrs()}) in audit records. */
  public static final String PRODUCER = "producer";
  /** The operations a grant may name. */
  public static final Set<String> OPERATIONS = Set.of("GenerateDataKey", "Decrypt");
  private static final Pattern ROLE = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

  /**
   * What a role's evidence must show: exactly one of Nitro PCRs or named measurements on a confidential VM.
   *
   * @param pcrs Nitro PCR index to lowercase hex, or null
   * @param pins SEV-SNP / TDX measurements, or null
   */
  public record Expected(Map<Integer, String> pcrs, MeasurementPins pins) {
    public TeePlatform platform() {
      return pins == null ? TeePlatform.NITRO : pins.platform();
    }
  }

  /**
   * Another enclave admitted to the key.
   *
   * @param role         its name in audit records and refusals, e.g. {@code inference}
   * @param operations   what it may do: {@code Decrypt} and/or {@code GenerateDataKey}
   * @param expectedPcrs its PCRs (Nitro, at least PCR0), or null on a confidential VM
   * @param platform     as {@link KeyPolicy#platform()}
   * @param expectedMeasurements as {@link KeyPolicy#expectedMeasurements()}
   * @param acceptTcb    as {@link KeyPolicy#acceptTcb()}
   * @param maxVmpl      as {@link KeyPolicy#maxVmpl()}
   * @param minTcb       as {@link KeyPolicy#minTcb()}
   * @param minTcbEvaluationDataNumber as {@link KeyPolicy#minTcbEvaluationDataNumber()}
   */
  public record Grant(@JsonProperty("role") String role,
                      @JsonProperty("operations") List<String> operations,
                      @JsonProperty("expected_pcrs") @JsonInclude(JsonInclude.Include.NON_NULL) Map<Integer, String> expectedPcrs,
                      @JsonProperty("platform") @JsonInclude(JsonInclude.Include.NON_NULL) String platform,
                      @JsonProperty("expected_measurements") @JsonInclude(JsonInclude.Include.NON_NULL)
                      Map<String, String> expectedMeasurements,
                      @JsonProperty("accept_tcb") @JsonInclude(JsonInclude.Include.NON_NULL) String acceptTcb,
                      @JsonProperty("max_vmpl") @JsonInclude(JsonInclude.Include.NON_NULL) Integer maxVmpl,
                      @JsonProperty("min_tcb") @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, Integer> minTcb,
                      @JsonProperty("min_tcb_evaluation_data_number") @JsonInclude(JsonInclude.Include.NON_NULL)
                      Integer minTcbEvaluationDataNumber) {
    @JsonCreator
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
      Expected e = expectation("grant " + role, expectedPcrs, platform, expectedMeasurements, acceptTcb, maxVmpl,
          minTcb, minTcbEvaluationDataNumber);
      expectedPcrs = e.pcrs();
      platform = e.pins() == null ? null : e.pins().platform().id();
      expectedMeasurements = e.pins() == null ? null : hexNames(e.pins().values());
      minTcb = minTcb == null || minTcb.isEmpty() ? null : Collections.unmodifiableMap(new java.util.LinkedHashMap<>(minTcb));
    }

    public Grant(String role, List<String> operations, Map<Integer, String> expectedPcrs) {
      this(role, operations, expectedPcrs, null, null, null);
    }

    public Grant(String role, List<String> operations, Map<Integer, String> expectedPcrs, String platform,
                 Map<String, String> expectedMeasurements, String acceptTcb) {
      this(role, operations, expectedPcrs, platform, expectedMeasurements, acceptTcb, null, null, null);
    }

    /** A grant pinning raw PCR values. */
    public static Grant of(String role, List<String> operations, Map<Integer, byte[]> pcrs) {
      return new Grant(role, operations, hex(pcrs));
    }

    /** A grant pinning an enclave on a confidential VM. */
    public static Grant of(String role, List<String> operations, MeasurementPins pins) {
      EvidencePolicy.TcbFloor f = pins.tcbFloor();
      return new Grant(role, operations, null, pins.platform().id(), hexNames(pins.values()),
          pins.acceptOutOfDateTcb() ? "out-of-date" : null, f.maxVmpl() < 0 ? null : f.maxVmpl(),
          f.minSnpTcb().isEmpty() ? null : f.minSnpTcb(),
          f.minTcbEvaluationDataNumber() < 0 ? null : f.minTcbEvaluationDataNumber());
    }

    /** What this grantee's evidence must show. */
    public Expected expected() {
      return expectation("grant " + role, expectedPcrs, platform, expectedMeasurements, acceptTcb, maxVmpl, minTcb,
          minTcbEvaluationDataNumber);
    }
  }

  @JsonCreator
  public KeyPolicy {
    BrokerKeystore.checkKeyId(keyId);
    Expected e = expectation("policy of key " + keyId, expectedPcrs, platform, expectedMeasurements, acceptTcb,
        maxVmpl, minTcb, minTcbEvaluationDataNumber);
    expectedPcrs = e.pcrs();
    platform = e.pins() == null ? null : e.pins().platform().id();
    expectedMeasurements = e.pins() == null ? null : hexNames(e.pins().values());
    minTcb = minTcb == null || minTcb.isEmpty() ? null : Collections.unmodifiableMap(new java.util.LinkedHashMap<>(minTcb));
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

  public KeyPolicy(String keyId, boolean enabled, Map<Integer, String> expectedPcrs, List<Grant> grants) {
    this(keyId, enabled, expectedPcrs, grants, null, null, null);
  }

  public KeyPolicy(String keyId, boolean enabled, Map<Integer, String> expectedPcrs, List<Grant> grants,
                   String platform, Map<String, String> expectedMeasurements, String acceptTcb) {
    this(keyId, enabled, expectedPcrs, grants, platform, expectedMeasurements, acceptTcb, null, null, null);
  }

  /** A policy pinning raw PCR values (a Nitro producer). */
  public static KeyPolicy of(String keyId, Map<Integer, byte[]> pcrs) {
    return new KeyPolicy(keyId, true, hex(pcrs));
  }

  /** A policy pinning a producer on a confidential VM (SEV-SNP, TDX) by its named measurements. */
  public static KeyPolicy of(String keyId, MeasurementPins pins) {
    EvidencePolicy.TcbFloor f = pins.tcbFloor();
    return new KeyPolicy(keyId, true, null, List.of(), pins.platform().id(), hexNames(pins.values()),
        pins.acceptOutOfDateTcb() ? "out-of-date" : null, f.maxVmpl() < 0 ? null : f.maxVmpl(),
        f.minSnpTcb().isEmpty() ? null : f.minSnpTcb(),
        f.minTcbEvaluationDataNumber() < 0 ? null : f.minTcbEvaluationDataNumber());
  }

  public KeyPolicy withEnabled(boolean on) {
    return new KeyPolicy(keyId, on, expectedPcrs, grants, platform, expectedMeasurements, acceptTcb, maxVmpl, minTcb,
        minTcbEvaluationDataNumber);
  }

  /** What the producer's evidence must show. */
  public Expected expected() {
    return expectation("policy of key " + keyId, expectedPcrs, platform, expectedMeasurements, acceptTcb, maxVmpl,
        minTcb, minTcbEvaluationDataNumber);
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
    return new KeyPolicy(keyId, enabled, expectedPcrs, next, platform, expectedMeasurements, acceptTcb, maxVmpl, minTcb,
        minTcbEvaluationDataNumber);
  }

  /** Role name to what the evidence of every role allowed {@code operation} must show, the producer first. */
  public Map<String, Expected> rolesFor(String operation) {
    Map<String, Expected> out = new java.util.LinkedHashMap<>();
    out.put(PRODUCER, expected());
    for (Grant g : grants) {
      if (g.operations().contains(operation)) {
        out.put(g.role(), g.expected());
      }
    }
    return out;
  }

  private static Expected expectation(String what, Map<Integer, String> pcrs, String platform,
                                      Map<String, String> measurements, String acceptTcb, Integer maxVmpl,
                                      Map<String, Integer> minTcb, Integer minTcbEvaluationDataNumber) {
    boolean hasFloor = maxVmpl != null || (minTcb != null && !minTcb.isEmpty()) || minTcbEvaluationDataNumber != null;
    boolean hasPcrs = pcrs != null && !pcrs.isEmpty();
    boolean hasMeasurements = measurements != null && !measurements.isEmpty();
    if (hasPcrs && hasMeasurements) {
      throw new IllegalArgumentException(what + ": 'expected_pcrs' (Nitro) and 'expected_measurements' (SEV-SNP/TDX) "
          + "exclude each other: an enclave runs on one platform");
    }
    if (!hasMeasurements) {
      if (platform != null && !platform.equals(TeePlatform.NITRO.id())) {
        throw new IllegalArgumentException(what + ": platform " + platform + " needs 'expected_measurements' "
            + MeasurementPins.required(org.cloister.trust.attestation.EvidenceVerifiers.fromId(platform)));
      }
      if (acceptTcb != null || hasFloor) {
        throw new IllegalArgumentException(what + ": 'accept_tcb', 'max_vmpl', 'min_tcb' and "
            + "'min_tcb_evaluation_data_number' apply to SEV-SNP/TDX measurements only");
      }
      return new Expected(normalize(what, pcrs), null);
    }
    if (platform == null) {
      throw new IllegalArgumentException(what + ": 'expected_measurements' need a 'platform' (sev-snp or tdx)");
    }
    TeePlatform p = org.cloister.trust.attestation.EvidenceVerifiers.fromId(platform);
    if (p == TeePlatform.NITRO) {
      throw new IllegalArgumentException(what + ": a Nitro enclave is pinned by 'expected_pcrs', not "
          + "'expected_measurements'");
    }
    if (acceptTcb != null && !acceptTcb.equals("up-to-date") && !acceptTcb.equals("out-of-date")) {
      throw new IllegalArgumentException(what + ": accept_tcb must be up-to-date or out-of-date, not '" + acceptTcb + "'");
    }
    MeasurementPins pins = MeasurementPins.ofHex(p, measurements, "out-of-date".equals(acceptTcb));
    EvidencePolicy.TcbFloor d = MeasurementPins.defaultFloor(p);
    try {
      // the sites' floor type and defaults: an absent max_vmpl is VMPL 0 on SEV-SNP, never "any"
      EvidencePolicy.TcbFloor floor = new EvidencePolicy.TcbFloor(maxVmpl != null ? maxVmpl : d.maxVmpl(),
          minTcb != null ? minTcb : Map.of(),
          minTcbEvaluationDataNumber != null ? minTcbEvaluationDataNumber : d.minTcbEvaluationDataNumber());
      return new Expected(null, new MeasurementPins(p, pins.values(), pins.acceptOutOfDateTcb(), floor));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
    }
  }

  private static Map<String, String> hexNames(Map<String, byte[]> values) {
    Map<String, String> hex = new java.util.LinkedHashMap<>();
    values.forEach((k, v) -> hex.put(k, HexFormat.of().formatHex(v)));
    return Collections.unmodifiableMap(hex);
  }

  private static Map<Integer, String> hex(Map<Integer, byte[]> pcrs) {
    Map<Integer, String> hex = new TreeMap<>();
    pcrs.forEach((k, v) -> hex.put(k, HexFormat.of().formatHex(v)));
    return hex;
  }

  private static Map<Integer, String> normalize(String what, Map<Integer, String> pcrs) {
    if (pcrs == null || !pcrs.containsKey(0)) {
      throw new IllegalArgumentException(what + " must pin at least PCR0 (the enclave code) of a Nitro enclave, or "
          + "'platform' and 'expected_measurements' of an enclave on SEV-SNP or TDX");
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
