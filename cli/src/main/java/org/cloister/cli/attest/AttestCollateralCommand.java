package org.cloister.cli.attest;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidencePolicy;
import org.cloister.trust.attestation.EvidenceVerifier;
import org.cloister.trust.attestation.EvidenceVerifiers;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.snp.AmdProduct;
import org.cloister.trust.attestation.snp.SnpVerifier;
import org.cloister.trust.attestation.tdx.TdxVerifier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code cloister attest collateral EVIDENCE --out DIR}: fetches what an offline verifier needs for this
 * evidence (SEV-SNP: VCEK, ASK+ARK chain, ARK CRL from AMD KDS; TDX: TCB info, QE identity, their issuer chain,
 * PCK CRL and its chain from Intel PCS v4, the root CA CRL) into a folder that can be carried to air-gapped
 * verifiers, then verifies the evidence with it. Nothing fetched is trusted: verification anchors in the pinned
 * roots. Exit 0 when the folder verifies the evidence, 1 when it does not, 2 on usage or network errors.
 */
@Command(name = "collateral", mixinStandardHelpOptions = true,
    description = {"Fetches the collateral that SEV-SNP or TDX evidence needs into a folder, for offline verification.",
        "Fetch the collateral of SEV-SNP or TDX evidence (AMD KDS, Intel PCS v4) into a folder for offline "
        + "verification (attest verify --collateral DIR), then verify the evidence with it."})
public final class AttestCollateralCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "EVIDENCE", description = "Raw SEV-SNP report or raw TDX quote.")
  Path file;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder to write (created; must be empty).")
  Path out;

  @Option(names = "--product", paramLabel = "Milan|Genoa|Turin",
      description = "SEV-SNP report version 2 only (it does not name its product).")
  String product;

  @Option(names = "--kds-url", paramLabel = "URL", defaultValue = "https://kdsintf.amd.com",
      description = "AMD Key Distribution Service (default ${DEFAULT-VALUE}).")
  String kdsUrl;

  @Option(names = "--pcs-url", paramLabel = "URL", defaultValue = "https://api.trustedservices.intel.com",
      description = "Intel Provisioning Certification Service (default ${DEFAULT-VALUE}).")
  String pcsUrl;

  @Option(names = "--root-crl-url", paramLabel = "URL",
      defaultValue = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der",
      description = "CRL of the Intel SGX Root CA (default ${DEFAULT-VALUE}).")
  String rootCrlUrl;

  @Option(names = "--at", paramLabel = "INSTANT", converter = InstantConverter.class,
      description = "Instant to verify the fetched folder at (default now).")
  Instant at;

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20))
      .followRedirects(HttpClient.Redirect.NORMAL).build();

  @Override
  public Integer call() throws Exception {
    CommandLine cl = spec.commandLine();
    byte[] evidence;
    try {
      evidence = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new CommandLine.ParameterException(cl, "EVIDENCE: no such file " + file);
    }
    TeePlatform platform = TeePlatform.detect(evidence);
    if (platform == TeePlatform.NITRO) {
      throw new CommandLine.ParameterException(cl, "EVIDENCE: neither an SEV-SNP report nor a TDX quote (a Nitro "
          + "document carries its whole chain and needs no collateral)");
    }
    if (Files.exists(out) && (!Files.isDirectory(out) || Files.list(out).findAny().isPresent())) {
      throw new CommandLine.ParameterException(cl, "--out: " + out + " exists and is not an empty folder");
    }
    Files.createDirectories(out);
    PrintWriter pw = cl.getOut();
    try {
      if (platform == TeePlatform.SEV_SNP) {
        fetchSnp(cl, evidence);
      } else {
        fetchTdx(evidence);
      }
      // the installed verifier of the platform (the registry: a plug-in never replaces a built-in one)
      EvidenceVerifier verifier = EvidenceVerifiers.installed().pinnedRoots(platform);
      Instant when = at == null ? Instant.now() : at;
      verifier.verify(evidence, Collateral.readDirectory(out), EvidencePolicy.at(when).withDebugAllowed(true)
          .withOutOfDateTcbAccepted(true));
      pw.println("collateral for " + platform.id() + " written to " + out + "; it verifies the evidence at " + when
          + " (attest verify applies the TCB and debug policy)");
      pw.flush();
      return 0;
    } catch (AttestationException e) {
      pw.println("invalid: " + e.reason().name().toLowerCase(Locale.ROOT).replace('_', ' ') + ": " + e.getMessage());
      pw.flush();
      return 1;
    } catch (IOException e) {
      throw new CommandLine.ParameterException(cl, "fetching collateral: " + e.getMessage());
    }
  }

  private void fetchSnp(CommandLine cl, byte[] report) throws IOException, AttestationException, InterruptedException {
    AmdProduct hint = null;
    if (product != null) {
      try {
        hint = AmdProduct.valueOf(product.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(cl, "--product: '" + product + "' is not Milan, Genoa or Turin");
      }
    }
    String path = SnpVerifier.vcekKdsPath(report, hint);
    String productName = path.split("/")[2];
    String base = kdsUrl.replaceAll("/+$", "");
    Files.write(out.resolve("vcek.der"), get(base + "/" + path).body());
    Files.write(out.resolve("ask_ark.pem"), get(base + "/vcek/v1/" + productName + "/cert_chain").body());
    HttpResponse<byte[]> crl = http.send(HttpRequest.newBuilder(URI.create(base + "/vcek/v1/" + productName + "/crl"))
        .timeout(Duration.ofSeconds(60)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    if (crl.statusCode() == 200) {
      Files.write(out.resolve("ark_crl.der"), crl.body());
    } else {
      spec.commandLine().getOut().println("warning: " + crl.uri() + " answered HTTP " + crl.statusCode()
          + ": no ARK CRL in the folder, so verifiers will not check revocation");
    }
  }

  private void fetchTdx(byte[] quote) throws IOException, AttestationException, InterruptedException {
    TdxVerifier.PcsRequest req = TdxVerifier.pcsRequest(quote);
    String base = pcsUrl.replaceAll("/+$", "");
    HttpResponse<byte[]> tcb = get(base + "/tdx/certification/v4/tcb?fmspc=" + req.fmspc());
    Files.write(out.resolve("tcb_info.json"), tcb.body());
    Files.writeString(out.resolve("tcb_signing_chain.pem"), chainHeader(tcb, "TCB-Info-Issuer-Chain"));
    HttpResponse<byte[]> qe = get(base + "/tdx/certification/v4/qe/identity");
    Files.write(out.resolve("qe_identity.json"), qe.body());
    Files.writeString(out.resolve("qe_identity_chain.pem"), chainHeader(qe, "SGX-Enclave-Identity-Issuer-Chain"));
    HttpResponse<byte[]> crl = get(base + "/sgx/certification/v4/pckcrl?ca=" + req.pckCa() + "&encoding=der");
    Files.write(out.resolve("pck_crl.der"), crl.body());
    Files.writeString(out.resolve("pck_crl_issuer_chain.pem"), chainHeader(crl, "SGX-PCK-CRL-Issuer-Chain"));
    Files.write(out.resolve("root_ca_crl.der"), get(rootCrlUrl).body());
  }

  private static String chainHeader(HttpResponse<byte[]> r, String header) throws IOException {
    String v = r.headers().firstValue(header).orElseThrow(() -> new IOException(r.uri() + " sent no " + header
        + " header"));
    return URLDecoder.decode(v, StandardCharsets.UTF_8);
  }

  private HttpResponse<byte[]> get(String url) throws IOException, InterruptedException {
    HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60)).GET()
        .build(), HttpResponse.BodyHandlers.ofByteArray());
    if (r.statusCode() != 200) {
      throw new IOException("GET " + url + " answered HTTP " + r.statusCode());
    }
    return r;
  }
}
