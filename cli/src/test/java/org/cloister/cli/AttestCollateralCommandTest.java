package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code cloister attest collateral} against a test double of Intel PCS v4 and AMD KDS: a loopback HTTP server
 * that answers only the exact requests a correct client makes for the fixture's evidence, with the fixture's
 * real collateral (and the issuer chains in URL-encoded response headers, as PCS sends them).
 */
class AttestCollateralCommandTest {
  @TempDir
  Path tmp;

  private HttpServer server;
  private final Map<String, Answer> answers = new ConcurrentHashMap<>();
  private final List<String> requests = new java.util.concurrent.CopyOnWriteArrayList<>();

  private record Answer(byte[] body, Map<String, String> headers) {}

  private String start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.start();
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private void handle(HttpExchange ex) throws IOException {
    String key = ex.getRequestURI().toString();
    requests.add(key);
    Answer a = answers.get(key);
    if (a == null) {
      ex.sendResponseHeaders(404, -1);
      ex.close();
      return;
    }
    a.headers().forEach((k, v) -> ex.getResponseHeaders().add(k, v));
    ex.sendResponseHeaders(200, a.body().length);
    try (OutputStream o = ex.getResponseBody()) {
      o.write(a.body());
    }
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  private static String run(int expectedExit, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = CloisterCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    assertThat(exit).as(out + "" + err).isEqualTo(expectedExit);
    return out.toString();
  }

  private static String header(Path pem) throws IOException {
    return URLEncoder.encode(Files.readString(pem), StandardCharsets.UTF_8).replace("+", "%20");
  }

  @Test
  void tdxCollateralFetchedFromPcsVerifiesOffline() throws Exception {
    Path dir = SharedAttestationFixtures.require().resolve("tdx/dcap-qvl-uptodate");
    Path c = dir.resolve("collateral");
    String base = start();
    answers.put("/tdx/certification/v4/tcb?fmspc=B0C06F000000", new Answer(Files.readAllBytes(c.resolve("tcb_info.json")),
        Map.of("TCB-Info-Issuer-Chain", header(c.resolve("tcb_signing_chain.pem")))));
    answers.put("/tdx/certification/v4/qe/identity", new Answer(Files.readAllBytes(c.resolve("qe_identity.json")),
        Map.of("SGX-Enclave-Identity-Issuer-Chain", header(c.resolve("tcb_signing_chain.pem")))));
    answers.put("/sgx/certification/v4/pckcrl?ca=platform&encoding=der", new Answer(
        Files.readAllBytes(c.resolve("pck_crl.der")), Map.of("SGX-PCK-CRL-Issuer-Chain",
        header(c.resolve("pck_crl_issuer_chain.pem")))));
    answers.put("/root.der", new Answer(Files.readAllBytes(c.resolve("root_ca_crl.der")), Map.of()));
    Path out = tmp.resolve("carried");
    String printed = run(0, "attest", "collateral", dir.resolve("evidence.bin").toString(), "--out", out.toString(),
        "--pcs-url", base, "--root-crl-url", base + "/root.der", "--at", "1751328000");
    assertThat(printed).contains("collateral for tdx written to");
    // the TCB info is kept byte for byte (its signature covers the raw text)
    assertThat(Files.readAllBytes(out.resolve("tcb_info.json"))).isEqualTo(Files.readAllBytes(c.resolve("tcb_info.json")));
    assertThat(run(0, "attest", "verify", dir.resolve("evidence.bin").toString(), "--collateral", out.toString(),
        "--at", "1751328000")).startsWith("valid\nplatform: tdx\ntcb_status: UpToDate");
    // carried past the TCB info's next update: the verifier names the expired item
    assertThat(run(1, "attest", "verify", dir.resolve("evidence.bin").toString(), "--collateral", out.toString(),
        "--at", "2025-07-19T12:00:00Z")).contains("expired");
  }

  @Test
  void snpVcekFetchedFromKdsByChipAndTcb() throws Exception {
    Path dir = SharedAttestationFixtures.require().resolve("snp/trustee-genoa");
    Path c = dir.resolve("collateral");
    byte[] report = Files.readAllBytes(dir.resolve("evidence.bin"));
    String chip = java.util.HexFormat.of().formatHex(java.util.Arrays.copyOfRange(report, 0x1A0, 0x1E0));
    String base = start();
    // Genoa TCB of this report: bootloader 10, TEE 0, SNP 23, microcode 25 (REPORTED_TCB bytes 0a 00 00 00 00 00 17 19)
    answers.put("/vcek/v1/Genoa/" + chip + "?blSPL=10&teeSPL=0&snpSPL=23&ucodeSPL=25",
        new Answer(Files.readAllBytes(c.resolve("vcek.der")), Map.of()));
    answers.put("/vcek/v1/Genoa/cert_chain", new Answer(Files.readAllBytes(c.resolve("ask_ark.pem")), Map.of()));
    Path out = tmp.resolve("snp");
    String printed = run(0, "attest", "collateral", dir.resolve("evidence.bin").toString(), "--out", out.toString(),
        "--kds-url", base, "--at", "2026-01-01T00:00:00Z");
    assertThat(printed).contains("no ARK CRL").contains("collateral for sev-snp written to");
    assertThat(requests).anyMatch(r -> r.startsWith("/vcek/v1/Genoa/" + chip));
    run(0, "attest", "verify", dir.resolve("evidence.bin").toString(), "--collateral", out.toString(), "--at",
        "2026-01-01T00:00:00Z");
  }

  @Test
  void usageErrors() throws Exception {
    Path nitro = SharedAttestationFixtures.require().resolve("nitro/anjuna-sample-prod-doc.bin");
    run(2, "attest", "collateral", nitro.toString(), "--out", tmp.resolve("x").toString());
    Path full = Files.createDirectories(tmp.resolve("full"));
    Files.writeString(full.resolve("f"), "x");
    Path snp = SharedAttestationFixtures.require().resolve("snp/trustee-genoa/evidence.bin");
    run(2, "attest", "collateral", snp.toString(), "--out", full.toString());
    // a VLEK-signed report: its certificate is not in AMD's KDS
    Path vlek = SharedAttestationFixtures.require().resolve("snp/trustee-vlek-aws/evidence.bin");
    assertThat(run(1, "attest", "collateral", vlek.toString(), "--out", tmp.resolve("v").toString(),
        "--kds-url", start())).contains("VLEK");
  }
}
