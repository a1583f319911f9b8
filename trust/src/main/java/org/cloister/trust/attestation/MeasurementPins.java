package org.cloister.trust.attestation;

import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The measurements a party (site, key broker, inference client, consortium host) pins for the enclave, on one
 * platform, by name: SEV-SNP {@code measurement} (the launch digest; {@code host_data} optional); TDX
 * {@code mr_td} and {@code rtmr0}..{@code rtmr3} ({@code mr_config_id} optional); Nitro {@code pcr0}..{@code pcr2}.
 * Fails closed: a required name missing, an unknown name or a value of the wrong size is an error naming it;
 * nothing defaults to "any".
 *
 * @param platform           the one platform the enclave runs on: evidence from another platform is refused
 * @param values             expected value of every pinned name
 * @param acceptOutOfDateTcb whether a TDX TCB status other than UpToDate is tolerated (never Revoked or unmatched)
 * @param tcbFloor           platform minimums ({@link EvidencePolicy.TcbFloor}): SEV-SNP {@code max_vmpl} (default 0)
 *                           and per-component {@code min_tcb}; TDX {@code min_tcb_evaluation_data_number}
 */
public record MeasurementPins(TeePlatform platform, Map<String, byte[]> values, boolean acceptOutOfDateTcb,
                              EvidencePolicy.TcbFloor tcbFloor) {

  /** Pins with the platform's default floor: SEV-SNP reports from VMPL 0 only; no minimum TCB. */
  public MeasurementPins(TeePlatform platform, Map<String, byte[]> values, boolean acceptOutOfDateTcb) {
    this(platform, values, acceptOutOfDateTcb, defaultFloor(platform));
  }

  /** SEV-SNP: VMPL 0 (nothing more privileged in the guest); otherwise none. */
  public static EvidencePolicy.TcbFloor defaultFloor(TeePlatform platform) {
    return platform == TeePlatform.SEV_SNP ? new EvidencePolicy.TcbFloor(0, Map.of(), -1) : EvidencePolicy.TcbFloor.NONE;
  }

  public MeasurementPins {
    Objects.requireNonNull(platform, "platform");
    Objects.requireNonNull(tcbFloor, "tcbFloor");
    if (platform != TeePlatform.SEV_SNP && (tcbFloor.maxVmpl() >= 0 || !tcbFloor.minSnpTcb().isEmpty())) {
      throw new IllegalArgumentException("max_vmpl and min_tcb apply to sev-snp, not " + platform.id());
    }
    if (platform != TeePlatform.TDX && tcbFloor.minTcbEvaluationDataNumber() >= 0) {
      throw new IllegalArgumentException("min_tcb_evaluation_data_number applies to tdx, not " + platform.id());
    }
    LinkedHashMap<String, byte[]> copy = new LinkedHashMap<>();
    for (Map.Entry<String, byte[]> e : values.entrySet()) {
      String name = e.getKey();
      int size = sizeOf(platform, name);
      if (size < 0) {
        throw new IllegalArgumentException(platform.id() + " has no measurement called '" + name + "' (pinnable: "
            + pinnable(platform) + ")");
      }
      if (e.getValue() == null || e.getValue().length != size) {
        throw new IllegalArgumentException(platform.id() + " measurement " + name + " must be " + size + " bytes, got "
            + (e.getValue() == null ? "none" : e.getValue().length));
      }
      copy.put(name, e.getValue().clone());
    }
    for (String name : required(platform)) {
      if (!copy.containsKey(name)) {
        throw new IllegalArgumentException("the pinned " + platform.id() + " measurements lack '" + name
            + "': a party must pin " + required(platform) + " (the enclave's code and configuration)");
      }
    }
    if (copy.isEmpty()) {
      throw new IllegalArgumentException("the " + platform.id() + " pins name no measurement (pinnable: "
          + pinnable(platform) + "): a party pinning nothing would accept any enclave");
    }
    values = Collections.unmodifiableMap(copy);
  }

  /** Pins from hexadecimal text, e.g. {@code measurement -> "5a5a..."}. */
  public static MeasurementPins ofHex(TeePlatform platform, Map<String, String> hex, boolean acceptOutOfDateTcb) {
    LinkedHashMap<String, byte[]> v = new LinkedHashMap<>();
    hex.forEach((k, h) -> {
      try {
        v.put(k, HexFormat.of().parseHex(h.trim()));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(platform.id() + " measurement " + k + " is not hexadecimal", e);
      }
    });
    return new MeasurementPins(platform, v, acceptOutOfDateTcb);
  }

  /** Format tag of a measurements file ({@link #read}, {@link #toJson}). */
  public static final String FORMAT = "cloister-measurements/v1";

  /**
   * Reads a measurements file: {@code {"format": "cloister-measurements/v1", "platform": "sev-snp",
   * "measurements": {"measurement": "hex", ...}, "accept_tcb": "up-to-date"}} ({@code accept_tcb} is
   * {@code up-to-date} or {@code out-of-date}; absent means up-to-date).
   *
   * @throws java.io.IOException naming the file and what is wrong
   */
  public static MeasurementPins read(java.nio.file.Path file) throws java.io.IOException {
    com.fasterxml.jackson.databind.JsonNode n;
    try {
      n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(java.nio.file.Files.readAllBytes(file));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new java.io.IOException(file + " is not JSON: " + e.getOriginalMessage(), e);
    }
    if (n == null || !n.isObject()) {
      throw new java.io.IOException(file + " does not hold pinned measurements (format " + FORMAT + ")");
    }
    String format = n.path("format").asText("");
    if (RETIRED_FORMAT.equals(format) || (format.isEmpty() && n.has("0"))) {
      throw new java.io.IOException(file + " is in a retired expected-PCRs format ("
          + (format.isEmpty() ? "a bare map of PCR indices" : format) + "); every party now reads " + FORMAT
          + ": regenerate it with the current `cloister provision` (or `cloister infer deploy`)");
    }
    if (!FORMAT.equals(format)) {
      throw new java.io.IOException(file + " does not hold pinned measurements: its format is "
          + (format.isEmpty() ? "not given" : "'" + format + "'") + ", expected " + FORMAT);
    }
    if (!n.path("measurements").isObject()) {
      throw new java.io.IOException(file + " has no 'measurements' object (format " + FORMAT + ")");
    }
    String accept = n.path("accept_tcb").asText("up-to-date");
    if (!accept.equals("up-to-date") && !accept.equals("out-of-date")) {
      throw new java.io.IOException(file + ": accept_tcb must be up-to-date or out-of-date, not '" + accept + "'");
    }
    LinkedHashMap<String, String> hex = new LinkedHashMap<>();
    n.get("measurements").fields().forEachRemaining(e -> hex.put(e.getKey(), e.getValue().asText()));
    try {
      TeePlatform platform = EvidenceVerifiers.fromId(n.path("platform").asText());
      MeasurementPins pins = ofHex(platform, hex, accept.equals("out-of-date"));
      EvidencePolicy.TcbFloor d = defaultFloor(platform);
      LinkedHashMap<String, Integer> minTcb = new LinkedHashMap<>();
      if (n.has("min_tcb")) {
        if (!n.get("min_tcb").isObject()) {
          throw new IllegalArgumentException("min_tcb must map TCB components to SVNs");
        }
        n.get("min_tcb").fields().forEachRemaining(e -> minTcb.put(e.getKey(),
            e.getValue().canConvertToInt() ? e.getValue().asInt() : null));
      }
      EvidencePolicy.TcbFloor floor = new EvidencePolicy.TcbFloor(
          n.has("max_vmpl") ? intField(n, "max_vmpl") : d.maxVmpl(), minTcb,
          n.has("min_tcb_evaluation_data_number") ? intField(n, "min_tcb_evaluation_data_number")
              : d.minTcbEvaluationDataNumber());
      return new MeasurementPins(platform, pins.values(), pins.acceptOutOfDateTcb(), floor);
    } catch (IllegalArgumentException e) {
      throw new java.io.IOException(file + ": " + e.getMessage(), e);
    }
  }

  private static int intField(com.fasterxml.jackson.databind.JsonNode n, String field) {
    if (!n.get(field).canConvertToInt()) {
      throw new IllegalArgumentException(field + " must be an integer");
    }
    return n.get(field).asInt();
  }

  /** The expected-PCRs format files were written in before {@link #FORMAT}: refused by {@link #read}, by name. */
  static final String RETIRED_FORMAT = "cloister-expected-pcrs/v1";

  /**
   * Nitro pins from PCR indices (PCR{@code i} becomes {@code pcr}{@code i}), as the simulated platform and
   * Nitro measure: PCR0..2 required.
   */
  public static MeasurementPins nitro(Map<Integer, byte[]> pcrs) {
    LinkedHashMap<String, byte[]> v = new LinkedHashMap<>();
    new java.util.TreeMap<>(pcrs).forEach((i, value) -> v.put("pcr" + i, value));
    return new MeasurementPins(TeePlatform.NITRO, v, false);
  }

  /**
   * These Nitro pins by PCR index, as Nitro attestation documents carry them.
   *
   * @throws IllegalStateException when the pins are for another platform
   */
  public Map<Integer, byte[]> nitroPcrs() {
    if (platform != TeePlatform.NITRO) {
      throw new IllegalStateException("the pinned measurements are for " + platform.id() + ", not nitro PCRs");
    }
    java.util.TreeMap<Integer, byte[]> out = new java.util.TreeMap<>();
    values.forEach((k, v) -> out.put(Integer.parseInt(k.substring(3)), v.clone()));
    return out;
  }

  /** The measurements file for these pins. */
  public String toJson() {
    com.fasterxml.jackson.databind.node.ObjectNode root = new com.fasterxml.jackson.databind.ObjectMapper()
        .createObjectNode().put("format", FORMAT).put("platform", platform.id());
    com.fasterxml.jackson.databind.node.ObjectNode m = root.putObject("measurements");
    values.forEach((k, v) -> m.put(k, HexFormat.of().formatHex(v)));
    root.put("accept_tcb", acceptOutOfDateTcb ? "out-of-date" : "up-to-date");
    if (tcbFloor.maxVmpl() >= 0) {
      root.put("max_vmpl", tcbFloor.maxVmpl());
    }
    if (!tcbFloor.minSnpTcb().isEmpty()) {
      com.fasterxml.jackson.databind.node.ObjectNode t = root.putObject("min_tcb");
      tcbFloor.minSnpTcb().forEach(t::put);
    }
    if (tcbFloor.minTcbEvaluationDataNumber() >= 0) {
      root.put("min_tcb_evaluation_data_number", tcbFloor.minTcbEvaluationDataNumber());
    }
    return root.toPrettyString() + "\n";
  }

  /** The names a party must pin on {@code platform} (its verifier provider's, {@link EvidenceVerifierProvider}). */
  public static List<String> required(TeePlatform platform) {
    return EvidenceVerifiers.provider(platform).requiredMeasurements();
  }

  private static List<String> pinnable(TeePlatform platform) {
    return List.copyOf(EvidenceVerifiers.provider(platform).pinnableMeasurements().keySet());
  }

  private static int sizeOf(TeePlatform platform, String name) {
    return EvidenceVerifiers.provider(platform).pinnableMeasurements().getOrDefault(name, -1);
  }

  @Override
  public Map<String, byte[]> values() {
    LinkedHashMap<String, byte[]> copy = new LinkedHashMap<>();
    values.forEach((k, v) -> copy.put(k, v.clone()));
    return copy;
  }

  @Override
  public String toString() {
    return "MeasurementPins[" + platform.id() + ", " + values.keySet() + ", acceptOutOfDateTcb=" + acceptOutOfDateTcb
        + ", " + tcbFloor + "]";
  }
}
