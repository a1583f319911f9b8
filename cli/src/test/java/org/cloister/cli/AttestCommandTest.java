package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Map;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.SimulatedNitroPlatform;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code cloister attest verify}, run in-process on the real Nitro fixtures of the trust module. */
class AttestCommandTest {
  /** ../shared/fixtures/nitro (real documents, attribution in its README; never committed to the project). */
  private static final Path FIXTURES = SharedAttestationFixtures.root().orElse(Path.of("missing-shared-fixtures"))
      .resolve("nitro");
  private static final String PROD = FIXTURES.resolve("anjuna-sample-prod-doc.bin").toString();
  private static final String DEBUG = FIXTURES.resolve("ppmag-nitro-ad-debug.bin").toString();
  private static final String PROD_PCR0 =
      "2d151586641b790f3b1b92b8f89678c3aa86e73dd97969c892124be9d2b7fdc62b58a55cd9ee8216f6f5689cebf590ad";

  @TempDir
  Path dir;

  @org.junit.jupiter.api.BeforeEach
  void requireFixtures() {
    SharedAttestationFixtures.require();
  }

  private record Result(int exit, String out, String err) {}

  private static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = CloisterCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new Result(exit, out.toString(), err.toString());
  }

  @Test
  void validProductionDocumentAtPinnedInstant() {
    assertThat(Files.exists(Path.of(PROD))).as("fixture " + PROD).isTrue();
    Result r = run("attest", "verify", PROD, "--at", "2021-03-17T23:00:00Z");
    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).startsWith("valid\n")
        .contains("module_id: i-078824548edcf6519-enc01784234ec227b58")
        .contains("digest: SHA384")
        .contains("timestamp: 2021-03-17T22:0")
        .contains("PCR0: " + PROD_PCR0);
  }

  @Test
  void expiredProductionDocument() {
    Result r = run("attest", "verify", PROD, "--at", "2050-01-01T00:00:00Z");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).startsWith("invalid: expired:");
  }

  @Test
  void epochSecondsInstantAndNotYetValid() {
    Result r = run("attest", "verify", DEBUG, "--at", "1614947200", "--allow-debug");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).startsWith("invalid: not yet valid:");
  }

  @Test
  void debugDocumentRefusedWithoutAllowDebugAcceptedWithIt() {
    Result refused = run("attest", "verify", DEBUG, "--at", "1614967200");
    assertThat(refused.exit()).isEqualTo(1);
    assertThat(refused.out()).startsWith("invalid: debug enclave:");
    Result accepted = run("attest", "verify", DEBUG, "--at", "1614967200", "--allow-debug");
    assertThat(accepted.exit()).as(accepted.out()).isZero();
    assertThat(accepted.out()).startsWith("valid\n").contains("debug: true");
  }

  @Test
  void pcrPolicy() {
    Result ok = run("attest", "verify", PROD, "--at", "2021-03-17T23:00:00Z", "--expect-pcr", "0=" + PROD_PCR0);
    assertThat(ok.exit()).isZero();
    String other = PROD_PCR0.replace("2d15", "2d16");
    Result bad = run("attest", "verify", PROD, "--at", "2021-03-17T23:00:00Z", "--expect-pcr", "0=" + other);
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(bad.out()).startsWith("invalid: pcr mismatch:");
  }

  @Test
  void expectPcrNameBesideExpectPcr() throws Exception {
    Result ok = run("attest", "verify", PROD, "--platform", "nitro", "--at", "2021-03-17T23:00:00Z", "--expect",
        "pcr0=" + PROD_PCR0, "--json");
    assertThat(ok.exit()).as(ok.out() + ok.err()).isZero();
    JsonNode v = new ObjectMapper().readTree(ok.out());
    assertThat(v.get("platform").asText()).isEqualTo("nitro");
    assertThat(v.get("measurements").get("pcr0").asText()).isEqualTo(PROD_PCR0);
    assertThat(v.get("tcb_status").isNull()).isTrue();
    assertThat(v.get("debug").asBoolean()).isFalse();
    Result bad = run("attest", "verify", PROD, "--at", "2021-03-17T23:00:00Z", "--expect",
        "pcr0=" + PROD_PCR0.replace("2d15", "2d16"));
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(bad.out()).startsWith("invalid: pcr mismatch:");
    assertThat(run("attest", "verify", PROD, "--expect", "mr_td=" + PROD_PCR0).exit()).isEqualTo(2);
  }

  @Test
  void base64InputIsDetected() throws Exception {
    Path b64 = dir.resolve("prod.b64");
    Files.writeString(b64, Base64.getMimeEncoder().encodeToString(Files.readAllBytes(Path.of(PROD))) + "\n");
    Result r = run("attest", "verify", b64.toString(), "--at", "2021-03-17T23:00:00Z");
    assertThat(r.exit()).as(r.out()).isZero();
    assertThat(r.out()).startsWith("valid");
  }

  @Test
  void selfSignedBlockyDocumentIsRefused() {
    Result r = run("attest", "verify", FIXTURES.resolve("blocky-selfsigned-attestation.b64").toString(),
        "--at", "2024-04-17T19:00:00Z");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).startsWith("invalid: malformed:");
  }

  @Test
  void jsonOutput() throws Exception {
    ObjectMapper mapper = new ObjectMapper();
    Result ok = run("attest", "verify", PROD, "--at", "2021-03-17T23:00:00Z", "--json");
    assertThat(ok.exit()).isZero();
    JsonNode v = mapper.readTree(ok.out());
    assertThat(v.get("valid").asBoolean()).isTrue();
    assertThat(v.get("reason").isNull()).isTrue();
    assertThat(v.get("module_id").asText()).isEqualTo("i-078824548edcf6519-enc01784234ec227b58");
    assertThat(v.get("pcrs").get("0").asText()).isEqualTo(PROD_PCR0);
    assertThat(v.get("timestamp").asText()).startsWith("2021-03-17T22:0");

    Result expired = run("attest", "verify", PROD, "--at", "2050-01-01T00:00:00Z", "--json");
    assertThat(expired.exit()).isEqualTo(1);
    JsonNode e = mapper.readTree(expired.out());
    assertThat(e.get("valid").asBoolean()).isFalse();
    assertThat(e.get("reason").asText()).isEqualTo("EXPIRED");
    assertThat(e.get("message").asText()).contains("expired");
  }

  @Test
  void simulatedDocumentNeedsDevelopmentRoot() throws Exception {
    Instant now = Instant.parse("2030-01-01T00:00:00Z");
    DevelopmentAttestationAuthority authority =
        DevelopmentAttestationAuthority.generate(Clock.fixed(now, ZoneOffset.UTC), new SecureRandom());
    byte[] pcr = SimulatedPcrs.measure("jar".getBytes(StandardCharsets.UTF_8));
    Path doc = dir.resolve("sim.cbor");
    Files.write(doc, new SimulatedNitroPlatform(authority, "sim", Map.of(0, pcr, 1, pcr, 2, pcr))
        .attestationDocument(null, null, null));
    Path root = dir.resolve("dev-root.pem");
    authority.save(root, dir.resolve("dev-root.key.pem"));

    Result untrusted = run("attest", "verify", doc.toString(), "--at", now.toString());
    assertThat(untrusted.exit()).isEqualTo(1);
    assertThat(untrusted.out()).startsWith("invalid: untrusted root:");
    Result trusted = run("attest", "verify", doc.toString(), "--at", now.toString(), "--trust-root", root.toString());
    assertThat(trusted.exit()).as(trusted.out()).isZero();
    assertThat(trusted.out()).contains("module_id: sim");
  }

  @Test
  void usageErrorsExitTwo() {
    assertThat(run("attest", "verify").exit()).isEqualTo(2);
    assertThat(run("attest", "verify", PROD, "--at", "yesterday").exit()).isEqualTo(2);
    assertThat(run("attest", "verify", PROD, "--expect-pcr", "0=zz").exit()).isEqualTo(2);
    assertThat(run("attest", "verify", PROD, "--expect-pcr", "x=00").exit()).isEqualTo(2);
    assertThat(run("attest", "verify", dir.resolve("missing.bin").toString()).exit()).isEqualTo(2);
    assertThat(run("attest", "verify", PROD, "--trust-root", dir.resolve("none.pem").toString()).exit()).isEqualTo(2);
    assertThat(run("attest").exit()).isEqualTo(2);
    Result r = run("attest", "verify", PROD, "--at", "yesterday");
    assertThat(r.err()).contains("yesterday");
  }

  @Test
  void garbageFileIsMalformed() throws Exception {
    Path junk = dir.resolve("junk.txt");
    Files.writeString(junk, "this is not an attestation document");
    Result r = run("attest", "verify", junk.toString(), "--at", "2021-03-17T23:00:00Z");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).startsWith("invalid: malformed:");
  }
}
