package org.cloister.cli.attest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
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
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.pki.Pem;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code cloister attest verify FILE}: verifies an AWS Nitro Enclaves attestation document. Exit 0 when
 * valid, 1 when refused (with the reason), 2 on usage errors.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {
        "Verify an AWS Nitro Enclaves attestation document (COSE_Sign1, ES384, certificate chain to the",
        "pinned AWS Nitro Root G1 unless --trust-root is given). Exit 0 if valid, 1 if refused, 2 on usage errors."})
public final class AttestVerifyCommand implements Callable<Integer> {
  private static final HexFormat HEX = HexFormat.of();

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "FILE", description = "Document as raw CBOR or base64 text (detected).")
  Path file;

  @Option(names = "--at", paramLabel = "INSTANT", converter = InstantConverter.class,
      description = "Verification instant: ISO-8601 (2021-03-17T23:00:00Z) or epoch seconds. Default: now.")
  Instant at;

  @Option(names = "--allow-debug", description = "Accept debug-mode enclaves (PCR0..2 all zero). Never in production.")
  boolean allowDebug;

  @Option(names = "--expect-pcr", paramLabel = "INDEX=HEX",
      description = "Require PCR INDEX to equal HEX (repeatable).")
  Map<Integer, String> expectedPcrs = new LinkedHashMap<>();

  @Option(names = "--trust-root", paramLabel = "CERT",
      description = "Trust root certificate (PEM or DER) instead of the pinned AWS Nitro Root G1, "
          + "e.g. a development attestation root.")
  Path trustRoot;

  @Option(names = "--json", description = "Print the result as one JSON object.")
  boolean json;

  @Override
  public Integer call() throws IOException {
    CommandLine cl = spec.commandLine();
    VerificationPolicy policy = VerificationPolicy.at(at == null ? Instant.now() : at).withDebugAllowed(allowDebug);
    for (Map.Entry<Integer, String> e : expectedPcrs.entrySet()) {
      try {
        policy = policy.withExpectedPcr(e.getKey(), e.getValue());
      } catch (IllegalArgumentException ex) {
        throw new CommandLine.ParameterException(cl, "--expect-pcr " + e.getKey() + "=...: " + ex.getMessage());
      }
    }
    NitroAttestationVerifier verifier = new NitroAttestationVerifier(loadTrustRoot(cl));
    byte[] evidence = readEvidence(cl);

    PrintWriter out = cl.getOut();
    try {
      VerifiedAttestation a = verifier.verify(evidence, policy);
      out.println(json ? toJson(a) : toText(a));
      out.flush();
      return 0;
    } catch (AttestationException e) {
      out.println(json ? toJson(e) : "invalid: " + words(e.reason()) + ": " + e.getMessage());
      out.flush();
      return 1;
    }
  }

  private X509Certificate loadTrustRoot(CommandLine cl) {
    if (trustRoot == null) {
      return org.cloister.trust.attestation.nitro.AwsNitroRoot.certificate();
    }
    try {
      return Pem.readCertificate(trustRoot);
    } catch (NoSuchFileException e) {
      throw new CommandLine.ParameterException(cl, "--trust-root: no such file " + trustRoot);
    } catch (IOException e) {
      throw new CommandLine.ParameterException(cl, "--trust-root: " + e.getMessage());
    }
  }

  private byte[] readEvidence(CommandLine cl) {
    try {
      return EvidenceFile.read(file);
    } catch (NoSuchFileException e) {
      throw new CommandLine.ParameterException(cl, "FILE: no such file " + file);
    } catch (IOException e) {
      throw new CommandLine.ParameterException(cl, "FILE: cannot read " + file + ": " + e.getMessage());
    }
  }

  private static String toText(VerifiedAttestation a) {
    StringBuilder sb = new StringBuilder("valid\n");
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

  private static String toJson(VerifiedAttestation a) throws JsonProcessingException {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode o = mapper.createObjectNode();
    o.put("valid", true);
    o.putNull("reason");
    o.put("module_id", a.moduleId());
    o.put("timestamp", a.timestamp().toString());
    o.put("digest", a.digest());
    o.put("debug", a.debug());
    ObjectNode pcrs = o.putObject("pcrs");
    a.pcrs().forEach((i, v) -> pcrs.put(Integer.toString(i), v));
    putHex(o, "public_key", a.publicKey());
    putHex(o, "user_data", a.userData());
    putHex(o, "nonce", a.nonce());
    return mapper.writeValueAsString(o);
  }

  private static String toJson(AttestationException e) throws JsonProcessingException {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode o = mapper.createObjectNode();
    o.put("valid", false);
    o.put("reason", e.reason().name());
    o.put("message", e.getMessage());
    return mapper.writeValueAsString(o);
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
