package org.cloister.cli.attest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidencePolicy;
import org.cloister.trust.attestation.EvidenceVerifier;
import org.cloister.trust.attestation.EvidenceVerifiers;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.attestation.VerifiedEvidence;
import org.cloister.trust.attestation.nitro.AwsNitroRoot;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.attestation.nitro.NitroEvidenceVerifier;
import org.cloister.trust.pki.Pem;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code cloister attest verify EVIDENCE}: verifies AWS Nitro, AMD SEV-SNP or Intel TDX evidence offline against
 * the vendor roots pinned in Cloister. Exit 0 when valid, 1 when refused (with the reason), 2 on usage errors.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {"Verifies attestation evidence (AWS Nitro, AMD SEV-SNP or Intel TDX) offline against pinned roots.",
        "Verify attestation evidence offline: an AWS Nitro Enclaves document (COSE_Sign1, CBOR or base64), a "
        + "raw AMD SEV-SNP report or a raw Intel TDX DCAP quote (v4/v5).",
        "Vendor roots are pinned (AWS Nitro Root G1, AMD ARK per product, Intel SGX Root CA). Exit 0 if "
        + "valid, 1 if refused (reason named), 2 on usage errors."})
public final class AttestVerifyCommand implements Callable<Integer> {
  private static final HexFormat HEX = HexFormat.of();

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "EVIDENCE",
      description = "Raw SNP report, raw TDX quote, or Nitro document (CBOR or base64).")
  Path file;

  @Option(names = "--platform", paramLabel = "auto|nitro|sev-snp|tdx", defaultValue = "auto",
      description = "Evidence format; auto (default) recognises it by content.")
  String platform;

  @Option(names = "--collateral", paramLabel = "DIR",
      description = {"Folder of what the verifier needs besides the pinned roots, recognised by content: X.509 "
          + "certificates (VCEK/VLEK, ASK/ASVK, ARK; Intel certificates) in PEM or DER, Intel PCS v4 TCB info and "
          + "QE identity JSON as served, CRLs in PEM or DER. A root found here must equal the pinned one."})
  Path collateralDir;

  @Option(names = "--at", paramLabel = "INSTANT", converter = InstantConverter.class,
      description = "Verification instant: ISO-8601 (2021-03-17T23:00:00Z) or epoch seconds. Default: now.")
  Instant at;

  @Option(names = "--allow-debug",
      description = "Accept debug guests (SNP policy bit 19, TDX attribute DEBUG, Nitro PCR0-2 zero). Never in production.")
  boolean allowDebug;

  @Option(names = "--accept-tcb", paramLabel = "up-to-date|out-of-date", defaultValue = "up-to-date",
      description = {"TDX: up-to-date (default) accepts only Intel's UpToDate; out-of-date also tolerates other statuses "
          + "(never Revoked, never a TCB matching no level)."})
  String acceptTcb;

  @Option(names = "--expect", paramLabel = "NAME=HEX",
      description = {"Require a measurement (repeatable): measurement, host_data, report_data (SNP); mr_td, rtmr0..rtmr3, "
          + "mr_config_id, mr_owner, mr_owner_config, report_data (TDX); pcr0..pcr31 (Nitro)."})
  Map<String, String> expected = new LinkedHashMap<>();

  @Option(names = "--expect-pcr", paramLabel = "INDEX=HEX",
      description = "Nitro: require PCR INDEX to equal HEX (repeatable; same as --expect pcrINDEX=HEX).")
  Map<Integer, String> expectedPcrs = new LinkedHashMap<>();

  @Option(names = "--trust-root", paramLabel = "CERT",
      description = "Nitro only: trust root certificate (PEM or DER) instead of the pinned AWS Nitro Root G1, "
          + "e.g. a development attestation root.")
  Path trustRoot;

  @Option(names = "--json", description = "Print the result as one JSON object.")
  boolean json;

  @Override
  public Integer call() throws IOException {
    CommandLine cl = spec.commandLine();
    byte[] raw = readFile(cl);
    TeePlatform p = platform(cl, raw);
    byte[] evidence = p == TeePlatform.NITRO ? EvidenceFile.decode(raw) : raw;

    boolean acceptOutOfDate = switch (acceptTcb.trim().toLowerCase(Locale.ROOT)) {
      case "up-to-date" -> false;
      case "out-of-date" -> true;
      default -> throw new CommandLine.ParameterException(cl,
          "--accept-tcb: '" + acceptTcb + "' is neither up-to-date nor out-of-date");
    };
    if (p != TeePlatform.NITRO && (trustRoot != null || !expectedPcrs.isEmpty())) {
      throw new CommandLine.ParameterException(cl, (trustRoot != null ? "--trust-root" : "--expect-pcr")
          + " applies to Nitro documents only; " + p.id() + " vendor roots are pinned (use --expect NAME=HEX)");
    }
    // the installed verifier of the platform (EvidenceVerifiers: a plug-in never replaces a built-in one);
    // only Nitro takes a root other than the pinned one, given explicitly
    EvidenceVerifier verifier = p == TeePlatform.NITRO && trustRoot != null
        ? new NitroEvidenceVerifier(new NitroAttestationVerifier(loadTrustRoot(cl)))
        : EvidenceVerifiers.installed().pinnedRoots(p);
    EvidencePolicy policy = policy(cl, verifier);
    Collateral collateral = loadCollateral(cl);

    PrintWriter out = cl.getOut();
    try {
      if (verifier instanceof NitroEvidenceVerifier nitro) {
        VerifiedAttestation a = nitro.verifyNitro(evidence, collateral, policy);
        VerifiedEvidence v = NitroEvidenceVerifier.claims(a);
        out.println(json ? nitroJson(v, a) : nitroText(a));
      } else {
        VerifiedEvidence v = verifier.verify(evidence, collateral, policy);
        out.println(json ? MAPPER.writeValueAsString(claimsJson(v)) : text(v));
      }
      out.flush();
      return 0;
    } catch (AttestationException e) {
      out.println(json ? refusalJson(p, e) : "invalid: " + words(e.reason()) + ": " + e.getMessage());
      out.flush();
      return 1;
    }
  }

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private TeePlatform platform(CommandLine cl, byte[] raw) {
    if ("auto".equalsIgnoreCase(platform.trim())) {
      return TeePlatform.detect(raw);
    }
    try {
      return org.cloister.trust.attestation.EvidenceVerifiers.fromId(platform);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, "--platform: " + e.getMessage().replace("(expected", "(expected auto,"));
    }
  }

  private EvidencePolicy policy(CommandLine cl, EvidenceVerifier verifier) {
    EvidencePolicy policy = EvidencePolicy.at(at == null ? Instant.now() : at).withDebugAllowed(allowDebug)
        .withOutOfDateTcbAccepted("out-of-date".equalsIgnoreCase(acceptTcb.trim()));
    Map<String, String> all = new LinkedHashMap<>(expected);
    for (Map.Entry<Integer, String> e : expectedPcrs.entrySet()) {
      if (e.getKey() < 0 || e.getKey() > 31) {
        throw new CommandLine.ParameterException(cl, "--expect-pcr " + e.getKey() + "=...: PCR index must be 0..31");
      }
      all.put("pcr" + e.getKey(), e.getValue());
    }
    for (Map.Entry<String, String> e : all.entrySet()) {
      String name = e.getKey().trim().toLowerCase(Locale.ROOT);
      if (!verifier.expectableNames().contains(name)) {
        throw new CommandLine.ParameterException(cl, "--expect " + e.getKey() + ": not a measurement of "
            + verifier.platform().id() + " evidence (" + namesOf(verifier.platform()) + ")");
      }
      try {
        byte[] value = HEX.parseHex(e.getValue().trim());
        if (name.startsWith("pcr") && value.length != 32 && value.length != 48 && value.length != 64) {
          throw new IllegalArgumentException("a PCR is 32, 48 or 64 bytes, got " + value.length);
        }
        policy = policy.withExpected(name, value);
      } catch (IllegalArgumentException ex) {
        throw new CommandLine.ParameterException(cl, "--expect " + e.getKey() + "=...: " + ex.getMessage());
      }
    }
    return policy;
  }

  private static String namesOf(TeePlatform p) {
    if (p.equals(TeePlatform.SEV_SNP)) {
      return "measurement, host_data, report_data";
    } else if (p.equals(TeePlatform.TDX)) {
      return "mr_td, rtmr0..rtmr3, mr_config_id, mr_owner, mr_owner_config, report_data";
    } else if (p.equals(TeePlatform.NITRO)) {
      return "pcr0..pcr31";
    }
    return String.join(", ", EvidenceVerifiers.provider(p).pinnableMeasurements().keySet()); // a plug-in platform
  }

  private Collateral loadCollateral(CommandLine cl) {
    if (collateralDir == null) {
      return Collateral.empty();
    }
    try {
      return Collateral.readDirectory(collateralDir);
    } catch (IOException e) {
      throw new CommandLine.ParameterException(cl, "--collateral: " + e.getMessage());
    }
  }

  private X509Certificate loadTrustRoot(CommandLine cl) {
    if (trustRoot == null) {
      return AwsNitroRoot.certificate();
    }
    try {
      return Pem.readCertificate(trustRoot);
    } catch (NoSuchFileException e) {
      throw new CommandLine.ParameterException(cl, "--trust-root: no such file " + trustRoot);
    } catch (IOException e) {
      throw new CommandLine.ParameterException(cl, "--trust-root: " + e.getMessage());
    }
  }

  private byte[] readFile(CommandLine cl) {
    try {
      long size = Files.size(file);
      if (size > EvidenceFile.MAX_FILE_BYTES) {
        throw new CommandLine.ParameterException(cl, "EVIDENCE: " + file + " is " + size
            + " bytes, more than any attestation evidence");
      }
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new CommandLine.ParameterException(cl, "EVIDENCE: no such file " + file);
    } catch (IOException e) {
      throw new CommandLine.ParameterException(cl, "EVIDENCE: cannot read " + file + ": " + e.getMessage());
    }
  }

  private static String text(VerifiedEvidence v) {
    StringBuilder sb = new StringBuilder("valid\n");
    sb.append("platform: ").append(v.platform().id()).append('\n');
    v.tcb().ifPresent(t -> sb.append("tcb_status: ").append(t.status())
        .append(t.advisoryIds().isEmpty() ? "" : " (advisories " + String.join(", ", t.advisoryIds()) + ")")
        .append('\n'));
    if (v.debug()) {
      sb.append("debug: true (debug guest accepted by --allow-debug)\n");
    }
    v.measurements().forEach((k, val) -> sb.append(k).append(": ").append(val).append('\n'));
    v.reportData().ifPresent(r -> sb.append("report_data: ").append(HEX.formatHex(r)).append('\n'));
    sb.setLength(sb.length() - 1);
    return sb.toString();
  }

  private static ObjectNode claimsJson(VerifiedEvidence v) {
    ObjectNode o = MAPPER.createObjectNode();
    o.put("valid", true);
    o.put("platform", v.platform().id());
    o.putNull("reason");
    if (v.tcb().isPresent()) {
      o.put("tcb_status", v.tcb().get().status());
      v.tcb().get().advisoryIds().forEach(o.putArray("advisory_ids")::add);
    } else {
      o.putNull("tcb_status");
    }
    ObjectNode m = o.putObject("measurements");
    v.measurements().forEach(m::put);
    putHex(o, "report_data", v.reportData());
    o.put("debug", v.debug());
    return o;
  }

  private static String refusalJson(TeePlatform p, AttestationException e) throws JsonProcessingException {
    ObjectNode o = MAPPER.createObjectNode();
    o.put("valid", false);
    o.put("platform", p.id());
    o.put("reason", e.reason().name());
    o.put("message", e.getMessage());
    o.putNull("tcb_status");
    o.putNull("measurements");
    o.putNull("report_data");
    o.putNull("debug");
    return MAPPER.writeValueAsString(o);
  }

  private static String nitroText(VerifiedAttestation a) {
    StringBuilder sb = new StringBuilder("valid\n");
    sb.append("platform: nitro\n");
    sb.append("module_id: ").append(a.moduleId()).append('\n');
    sb.append("timestamp: ").append(a.timestamp()).append('\n');
    sb.append("digest: ").append(a.digest()).append('\n');
    if (a.debug()) {
      sb.append("debug: true (debug-mode enclave accepted by --allow-debug)\n");
    }
    a.pcrs().forEach((i, v) -> sb.append("PCR").append(i).append(": ").append(v).append('\n'));
    a.publicKey().ifPresent(k -> sb.append("public_key: ").append(HEX.formatHex(k)).append('\n'));
    a.userData().ifPresent(u -> sb.append("user_data: ").append(HEX.formatHex(u)).append('\n'));
    a.nonce().ifPresent(n -> sb.append("nonce: ").append(HEX.formatHex(n)).append('\n'));
    sb.setLength(sb.length() - 1);
    return sb.toString();
  }

  /** The neutral keys of the contract, then Nitro's own (module_id, timestamp, digest, pcrs, ...). */
  private static String nitroJson(VerifiedEvidence v, VerifiedAttestation a) throws JsonProcessingException {
    ObjectNode o = claimsJson(v);
    o.put("module_id", a.moduleId());
    o.put("timestamp", a.timestamp().toString());
    o.put("digest", a.digest());
    ObjectNode pcrs = o.putObject("pcrs");
    a.pcrs().forEach((i, val) -> pcrs.put(Integer.toString(i), val));
    putHex(o, "public_key", a.publicKey());
    putHex(o, "user_data", a.userData());
    putHex(o, "nonce", a.nonce());
    return MAPPER.writeValueAsString(o);
  }

  private static void putHex(ObjectNode o, String field, Optional<byte[]> value) {
    if (value.isPresent()) {
      o.put(field, HEX.formatHex(value.get()));
    } else {
      o.putNull(field);
    }
  }

  private static String words(FailureReason reason) {
    return reason.name().toLowerCase(Locale.ROOT).replace('_', ' ');
  }
}
