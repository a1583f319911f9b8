package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.Pem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * The contract of {@code cloister attest verify} (issue 19, item 4) on every real SEV-SNP and TDX case of
 * ../shared/fixtures: exit codes, the JSON object, and each negative the case lists, plus a debug guest, a foreign
 * root, an expired collateral item and usage errors.
 */
class AttestVerifyContractTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @TempDir
  Path tmp;

  private record Result(int exit, String out, String err) {
    JsonNode json() {
      try {
        return MAPPER.readTree(out);
      } catch (IOException e) {
        throw new UncheckedIOException(out + err, e);
      }
    }
  }

  private static Result run(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = CloisterCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args.toArray(String[]::new));
    return new Result(exit, out.toString(), err.toString());
  }

  static Stream<Path> cases() {
    return SharedAttestationFixtures.root().stream().flatMap(root -> Stream.of("snp", "tdx")
        .flatMap(p -> {
          try {
            return Files.list(root.resolve(p)).filter(d -> Files.isRegularFile(d.resolve("case.json"))).sorted()
                .toList().stream();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }));
  }

  private static JsonNode caseOf(Path dir) {
    try {
      return MAPPER.readTree(dir.resolve("case.json").toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The arguments the case calls for, verifying {@code evidence}. */
  private static List<String> args(Path dir, JsonNode c, Path evidence, String at) {
    List<String> a = new ArrayList<>(List.of("attest", "verify", evidence.toString(),
        "--collateral", dir.resolve("collateral").toString(), "--at", at, "--accept-tcb", c.get("accept_tcb").asText(),
        "--json"));
    if (c.get("debug").asBoolean()) {
      a.add("--allow-debug");
    }
    return a;
  }

  @Test
  void fixturesArePresent() {
    SharedAttestationFixtures.require();
    assertThat(cases()).hasSizeGreaterThanOrEqualTo(7);
  }

  @ParameterizedTest
  @MethodSource("cases")
  void caseGivesItsExpectedResult(Path dir) {
    JsonNode c = caseOf(dir);
    Result r = run(args(dir, c, dir.resolve("evidence.bin"), c.get("verify_at").asText()));
    JsonNode j = r.json();
    assertThat(j.get("platform").asText()).isEqualTo(c.get("platform").asText());
    if ("reject".equals(c.get("expect").asText())) {
      assertThat(r.exit()).as(r.out()).isEqualTo(1);
      assertThat(j.get("valid").asBoolean()).isFalse();
      assertThat(j.get("reason").asText()).isEqualTo("NO_MATCHING_TCB_LEVEL");
      return;
    }
    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    assertThat(j.get("valid").asBoolean()).isTrue();
    assertThat(j.get("reason").isNull()).isTrue();
    assertThat(j.get("debug").asBoolean()).isEqualTo(c.get("debug").asBoolean());
    if (c.get("tcb_status").isNull()) {
      assertThat(j.get("tcb_status").isNull()).isTrue();
    } else {
      assertThat(j.get("tcb_status").asText()).isEqualTo(c.get("tcb_status").asText());
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = c.get("fields").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      JsonNode actual = f.getKey().equals("report_data") ? j.get("report_data") : j.get("measurements").get(f.getKey());
      assertThat(actual.asText()).as(f.getKey()).isEqualTo(f.getValue().asText());
    }
  }

  @ParameterizedTest
  @MethodSource("cases")
  void everyNegativeIsInvalidWithItsReason(Path dir) throws IOException {
    JsonNode c = caseOf(dir);
    for (JsonNode n : c.get("negatives")) {
      Result r;
      List<String> expectedReasons;
      switch (n.get("kind").asText()) {
        case "flip" -> {
          byte[] bad = Files.readAllBytes(dir.resolve("evidence.bin"));
          bad[n.get("offset").asInt()] ^= 0x01;
          Path f = tmp.resolve(dir.getFileName() + "-flip-" + n.get("offset").asInt() + ".bin");
          Files.write(f, bad);
          r = run(args(dir, c, f, c.get("verify_at").asText()));
          expectedReasons = List.of("BAD_SIGNATURE");
        }
        case "at" -> {
          r = run(args(dir, c, dir.resolve("evidence.bin"), n.get("at").asText()));
          expectedReasons = List.of("EXPIRED", "EXPIRED_COLLATERAL");
        }
        case "expect" -> {
          List<String> a = args(dir, c, dir.resolve("evidence.bin"), c.get("verify_at").asText());
          a.addAll(List.of("--expect", n.get("name").asText() + "=" + n.get("hex").asText()));
          r = run(a);
          expectedReasons = List.of("MEASUREMENT_MISMATCH");
        }
        default -> throw new AssertionError(n.toString());
      }
      assertThat(r.exit()).as(n + " -> " + r.out() + r.err()).isEqualTo(1);
      assertThat(r.json().get("valid").asBoolean()).isFalse();
      assertThat(r.json().get("reason").asText()).as(n.toString()).isIn(expectedReasons);
    }
  }

  @Test
  void expectingTheTrueValuesPasses() {
    Path dir = SharedAttestationFixtures.require().resolve("tdx/gotdxguest-v5");
    JsonNode c = caseOf(dir);
    List<String> a = args(dir, c, dir.resolve("evidence.bin"), c.get("verify_at").asText());
    c.get("fields").fields().forEachRemaining(f -> a.addAll(List.of("--expect", f.getKey() + "=" + f.getValue().asText())));
    assertThat(run(a).exit()).isZero();
  }

  @Test
  void debugSnpGuestInvalidWithoutAllowDebug() {
    Path dir = SharedAttestationFixtures.require().resolve("snp/go-sev-guest-milan");
    Result r = run(List.of("attest", "verify", dir.resolve("evidence.bin").toString(), "--collateral",
        dir.resolve("collateral").toString(), "--at", "2024-01-01T00:00:00Z"));
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).startsWith("invalid: debug enclave:").contains("bit 19");
  }

  @Test
  void outOfDateTdxInvalidUnlessAccepted() {
    Path dir = SharedAttestationFixtures.require().resolve("tdx/dcaprs-outofdate");
    Result r = run(List.of("attest", "verify", dir.resolve("evidence.bin").toString(), "--collateral",
        dir.resolve("collateral").toString(), "--at", "1740787200", "--json"));
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.json().get("reason").asText()).isEqualTo("TCB_NOT_ACCEPTED");
    assertThat(r.json().get("message").asText()).contains("OutOfDate");
  }

  @Test
  void textOutputNamesPlatformStatusAndRegisters() {
    Path dir = SharedAttestationFixtures.require().resolve("tdx/dcap-qvl-uptodate");
    Result r = run(List.of("attest", "verify", dir.resolve("evidence.bin").toString(), "--collateral",
        dir.resolve("collateral").toString(), "--at", "2025-07-01T00:00:00Z"));
    assertThat(r.exit()).as(r.out()).isZero();
    assertThat(r.out()).startsWith("valid\nplatform: tdx\ntcb_status: UpToDate\n")
        .contains("mr_td: " + caseOf(dir).get("fields").get("mr_td").asText());
  }

  @Test
  void foreignRootInCollateralIsInvalid() throws Exception {
    for (String c : List.of("snp/trustee-genoa", "tdx/dcap-qvl-uptodate")) {
      Path dir = SharedAttestationFixtures.require().resolve(c);
      Path copy = Files.createDirectories(tmp.resolve(c.replace('/', '-')));
      try (Stream<Path> files = Files.list(dir.resolve("collateral"))) {
        for (Path f : files.toList()) {
          Files.copy(f, copy.resolve(f.getFileName()));
        }
      }
      CertificateAuthority foreign = CertificateAuthority.createRoot(c.startsWith("snp") ? "ARK-Genoa"
          : "Intel SGX Root CA", EcCurve.P384, Instant.parse("2020-01-01T00:00:00Z"),
          Instant.parse("2040-01-01T00:00:00Z"), new SecureRandom());
      Pem.writeCertificates(copy.resolve("zz-root.pem"), List.of(foreign.certificate()));
      JsonNode k = caseOf(dir);
      Result r = run(List.of("attest", "verify", dir.resolve("evidence.bin").toString(), "--collateral",
          copy.toString(), "--at", k.get("verify_at").asText(), "--json"));
      assertThat(r.exit()).as(r.out()).isEqualTo(1);
      assertThat(r.json().get("reason").asText()).isEqualTo("UNTRUSTED_ROOT");
    }
  }

  @Test
  void withoutCollateralTheReasonIsMissingCollateral() {
    Path dir = SharedAttestationFixtures.require().resolve("tdx/gotdxguest-v5");
    Result r = run(List.of("attest", "verify", dir.resolve("evidence.bin").toString(), "--at", "1772323200", "--json"));
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.json().get("reason").asText()).isEqualTo("MISSING_COLLATERAL");
  }

  @Test
  void wrongPlatformIsMalformed() {
    Path dir = SharedAttestationFixtures.require().resolve("snp/trustee-genoa");
    Result r = run(List.of("attest", "verify", dir.resolve("evidence.bin").toString(), "--platform", "tdx",
        "--collateral", dir.resolve("collateral").toString(), "--json"));
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.json().get("reason").asText()).isEqualTo("MALFORMED");
  }

  @Test
  void usageErrorsExitTwo() throws IOException {
    Path dir = SharedAttestationFixtures.require().resolve("tdx/gotdxguest-v5");
    String ev = dir.resolve("evidence.bin").toString();
    String col = dir.resolve("collateral").toString();
    assertThat(run(List.of("attest", "verify", ev, "--collateral", col, "--expect", "measurement=00")).exit()).isEqualTo(2);
    assertThat(run(List.of("attest", "verify", ev, "--collateral", col, "--expect", "mr_td=zz")).exit()).isEqualTo(2);
    assertThat(run(List.of("attest", "verify", ev, "--collateral", col, "--accept-tcb", "revoked")).exit()).isEqualTo(2);
    assertThat(run(List.of("attest", "verify", ev, "--platform", "sgx")).exit()).isEqualTo(2);
    assertThat(run(List.of("attest", "verify", ev, "--collateral", tmp.resolve("none").toString())).exit()).isEqualTo(2);
    assertThat(run(List.of("attest", "verify", ev, "--expect-pcr", "0=00")).exit()).isEqualTo(2);
    Path junkDir = Files.createDirectories(tmp.resolve("junk"));
    Files.writeString(junkDir.resolve("notes.txt"), "not collateral");
    Result r = run(List.of("attest", "verify", ev, "--collateral", junkDir.toString()));
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("notes.txt");
  }
}
