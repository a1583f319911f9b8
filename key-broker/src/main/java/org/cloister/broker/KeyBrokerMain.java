package org.cloister.broker;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.EvidenceVerifiers;
import java.util.Map;
import java.util.LinkedHashMap;
import java.util.Set;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidenceVerifier;
import org.cloister.enclave.runtime.ParentWatch;
import org.cloister.enclave.runtime.ProcessArgs;
import org.cloister.trust.attestation.AttestationVerifier;
import org.cloister.trust.attestation.nitro.AwsNitroRoot;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.pki.Pem;
import org.cloister.trust.attestation.DevelopmentWarning;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The key broker process. Prints {@value #READY}{@code port=N} on standard output once it serves.
 *
 * <pre>
 * java -cp ... org.cloister.broker.KeyBrokerMain --keystore KS.p12 --keystore-password-file PW
 *     --policies POLICIES.json --tls-cert CHAIN.pem --tls-key KEY.pem --audit-log AUDIT.jsonl
 *     --admin-token-file TOKEN [--attestation-root DEV_ROOT.pem] [--collateral DIR]
 *     [--development-amd-root ARK.pem] [--development-intel-root ROOT.pem] [--listen 127.0.0.1:0] [--exit-with-parent]
 * </pre>
 *
 * {@code --collateral} is the folder of SEV-SNP / TDX collateral (`cloister attest collateral`) for policies
 * pinning an enclave on a confidential VM; {@code --development-amd-root} trusts the SEV-SNP test double's root
 * (development only, with a warning) instead of AMD's.
 *
 * <pre>
 * </pre>
 */
public final class KeyBrokerMain {
  public static final String READY = "CLOISTER-BROKER READY ";
  public static final String FAILED = "CLOISTER-BROKER FAILED ";
  private static final Logger log = LoggerFactory.getLogger(KeyBrokerMain.class);
  private static final Set<String> VALUED = Set.of("--keystore", "--keystore-password-file", "--policies", "--tls-cert",
      "--tls-key", "--audit-log", "--admin-token-file", "--attestation-root", "--listen", "--collateral", "--development-amd-root",
      "--development-intel-root");
  private static final Set<String> FLAGS = Set.of("--exit-with-parent");

  private KeyBrokerMain() {
  }

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs the broker until it is stopped; returns the exit code (2 usage, 1 failure). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    ProcessArgs a;
    try {
      a = ProcessArgs.parse(args, VALUED, FLAGS);
      a.required("--keystore");
      a.required("--keystore-password-file");
      a.required("--policies");
      a.required("--tls-cert");
      a.required("--tls-key");
      a.required("--audit-log");
      a.required("--admin-token-file");
    } catch (IllegalArgumentException e) {
      out.println(FAILED + e.getMessage());
      err.println("key broker: " + e.getMessage());
      return 2;
    }
    KeyBrokerServer server;
    try {
      SecureRandom random = new SecureRandom();
      Clock clock = Clock.systemUTC();
      char[] password = readSecret(a.requiredPath("--keystore-password-file"));
      BrokerKeystore keystore = BrokerKeystore.load(a.requiredPath("--keystore"), password, random);
      Arrays.fill(password, '\0');
      KeyPolicies policies = KeyPolicies.load(a.requiredPath("--policies"));
      AttestationVerifier verifier = verifier(a.optional("--attestation-root", null), err);
      byte[] token = new String(readSecret(a.requiredPath("--admin-token-file"))).getBytes(StandardCharsets.US_ASCII);
      AuditLog audit = new AuditLog(a.requiredPath("--audit-log"), clock);
      String collateralDir = a.optional("--collateral", null);
      Collateral collateral = collateralDir == null ? Collateral.empty() : Collateral.readDirectory(Path.of(collateralDir));
      server = new KeyBrokerServer(ProcessArgs.address("--listen", a.optional("--listen", "127.0.0.1:0")),
          a.requiredPath("--tls-cert"), a.requiredPath("--tls-key"), keystore, policies, verifier,
          cvmVerifiers(a.optional("--development-amd-root", null),
              a.optional("--development-intel-root", null), err), collateral, audit, token,
          clock, random).start();
      log.info("key broker serving {} key(s) on port {}", keystore.keyIds().size(), server.port());
    } catch (IOException | RuntimeException e) {
      out.println(FAILED + e.getMessage());
      out.flush();
      err.println("key broker failed to start: " + e.getMessage());
      return 1;
    }
    out.println(READY + "port=" + server.port());
    out.flush();
    KeyBrokerServer s = server;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        s.close();
      } catch (InterruptedException ignored) {
        Thread.currentThread().interrupt();
      }
    }, "broker-shutdown"));
    if (a.flag("--exit-with-parent")) {
      ParentWatch.exitWhenClosed(System.in);
    }
    try {
      server.awaitTermination();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  private static AttestationVerifier verifier(String rootPath, PrintStream err) throws IOException {
    if (rootPath == null) {
      return NitroAttestationVerifier.withAwsRoot();
    }
    X509Certificate root = Pem.readCertificate(Path.of(rootPath));
    if (!root.equals(AwsNitroRoot.certificate())) {
      String warning = "WARNING: the key broker trusts a NON-AWS attestation root (" + root.getSubjectX500Principal().getName()
          + " from " + rootPath + "). Anyone holding that root's key can obtain data keys. Development only: never "
          + "with real patient data.";
      // a banner on stderr whatever the logging configuration (DEBUG when the parent has warned for this run)
      DevelopmentWarning.banner(warning, err, log, System.getenv());
    }
    return new NitroAttestationVerifier(root);
  }

  /** The installed confidential-VM verifiers (registry), with the test doubles' roots where given (a warning each). */
  private static List<EvidenceVerifier> cvmVerifiers(String developmentArk, String developmentIntelRoot,
                                                    PrintStream err) throws IOException {
    Map<TeePlatform, X509Certificate> development = new LinkedHashMap<>();
    developmentRoot(development, TeePlatform.SEV_SNP, developmentArk, "AMD's", err);
    developmentRoot(development, TeePlatform.TDX, developmentIntelRoot, "Intel's", err);
    return EvidenceVerifiers.installed().confidentialVm(development);
  }

  private static void developmentRoot(Map<TeePlatform, X509Certificate> into, TeePlatform platform, String file,
                                      String instead, PrintStream err) throws IOException {
    if (file == null) {
      return;
    }
    X509Certificate root = Pem.readCertificate(Path.of(file));
    DevelopmentWarning.banner("WARNING: the key broker trusts the " + platform.id().toUpperCase(java.util.Locale.ROOT)
        + " TEST DOUBLE's root (" + root.getSubjectX500Principal().getName() + " from " + file + ") instead of "
        + instead + ". Anyone holding its key can obtain data keys. Development only: never with real patient data.",
        err, log, System.getenv());
    into.put(platform, root);
  }

  static char[] readSecret(Path file) throws IOException {
    String s = Files.readString(file, StandardCharsets.UTF_8).strip();
    if (s.isEmpty()) {
      throw new IOException(file + " is empty");
    }
    return s.toCharArray();
  }
}
