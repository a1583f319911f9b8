package org.cloister.enclave;

import io.grpc.Server;
import org.cloister.enclave.runtime.EnclaveServer;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import org.cloister.enclave.aggregation.UpdateKernel;
import org.cloister.enclave.runtime.AttestationPlatforms;
import org.cloister.enclave.runtime.tee.Vsock;
import org.cloister.enclave.runtime.tee.VsockForwarder;
import org.cloister.enclave.runtime.EnclaveSigner;
import org.cloister.enclave.runtime.KeyBrokerClient;
import org.cloister.enclave.runtime.ProcessLifecycle;
import org.cloister.enclave.service.DataPathSelfTest;
import org.cloister.enclave.service.ModelVault;
import org.cloister.enclave.service.ReceiptIssuer;
import org.cloister.enclave.service.SecureAggregatorService;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The secure aggregator enclave process. The host starts it (in production: as a Nitro enclave from
 * an image built from this jar; in development: {@code java --add-modules jdk.incubator.vector -cp
 * ENCLAVE_IMAGE.jar org.cloister.enclave.EnclaveMain ...}) and reaches it only over a local channel.
 *
 * <p>At start it measures its code artifact, configuration and policy (PCR0..2), generates its HPKE
 * key pair and its ECDSA P-256 signing key bound in its attestation documents (private keys never
 * leave the process), obtains the model data key from the key
 * broker by attestation (and stops if the broker refuses), then serves and prints
 * {@value #READY}{@code port=N pcr0=HEX} on standard output.
 *
 * <pre>
 * --config CONFIG.json --policy POLICY.json --broker HOST:PORT [--listen 127.0.0.1:0]
 * --platform simulated --dev-root-cert ROOT.pem --dev-root-key ROOT.key   (development platform)
 * [--vsock-outbound LOCALPORT=CID:PORT]... [--vsock-listen PORT]                (Nitro enclave)
 * [--exit-with-parent]
 * </pre>
 *
 * <p>In a Nitro enclave (no network, only vsock to the parent instance): {@code --vsock-outbound 8443=3:8443}
 * forwards loopback port 8443 (where {@code --broker 127.0.0.1:8443} points) to vsock port 8443 of the parent
 * (CID 3), where AWS's {@code vsock-proxy} forwards to the key broker; {@code --vsock-listen 7000} forwards vsock
 * port 7000 to the gRPC server, which the coordinator reaches through the parent ({@link VsockForwarder}).
 */
public final class EnclaveMain {
  public static final String READY = "CLOISTER-ENCLAVE READY ";
  public static final String FAILED = "CLOISTER-ENCLAVE FAILED ";
  private static final Logger log = LoggerFactory.getLogger(EnclaveMain.class);
  private static final Set<String> VALUED = Set.of("--config", "--policy", "--broker", "--listen", "--platform",
      "--dev-root-cert", "--dev-root-key", "--vsock-outbound", "--vsock-listen");
  private static final Set<String> FLAGS = Set.of("--exit-with-parent");

  private EnclaveMain() {
  }

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  public static int run(String[] args, PrintStream out, PrintStream err) {
    Map<String, String> opts = new HashMap<>();
    Set<String> flags = new java.util.HashSet<>();
    try {
      parse(args, opts, flags);
      for (String required : new String[] {"--config", "--policy", "--broker"}) {
        if (!opts.containsKey(required)) {
          throw new IllegalArgumentException("option " + required + " is required");
        }
      }
    } catch (IllegalArgumentException e) {
      return failed(out, err, e.getMessage(), 2);
    }
    Server server;
    try {
      byte[] configBytes = Files.readAllBytes(Path.of(opts.get("--config")));
      byte[] policyBytes = Files.readAllBytes(Path.of(opts.get("--policy")));
      EnclaveConfig config = EnclaveConfig.parse(configBytes);
      AggregationPolicy policy = AggregationPolicy.parse(policyBytes);
      config.consortiumCa(); // a configuration whose CA does not parse could authenticate nobody: stop now
      Path artifact = ImageMeasurement.codeArtifact();
      Map<Integer, byte[]> pcrs = ImageMeasurement.pcrs(artifact, configBytes, policyBytes);

      if (opts.containsKey("--vsock-outbound")) {
        log.info("vsock bridge {}", VsockForwarder.outbound(opts.get("--vsock-outbound"), new Vsock()));
      }
      String platformName = opts.getOrDefault("--platform", "simulated");
      org.cloister.enclave.runtime.EvidenceSource platform = AttestationPlatforms.open(platformName, path(opts.get("--dev-root-cert")),
          path(opts.get("--dev-root-key")), config.moduleId(), pcrs, configBytes, policyBytes, err);
      SecureRandom random = new SecureRandom();
      HpkeKeyPair key = new Hpke().generateKeyPair();
      EnclaveSigner signer = EnclaveSigner.generate(random); // attested signing key, enclave memory only
      // SEV-SNP / TDX: the files we loaded must be the ones the VM was launched with (host_data / mr_config_id)
      org.cloister.enclave.runtime.LaunchedConfiguration.require(platform, configBytes, policyBytes, key.publicKey(),
          random);

      UpdateKernel kernel = UpdateKernel.best();
      // before asking for any key or serving: the data path on synthetic updates under throwaway keys (a wrong
      // answer stops the enclave)
      DataPathSelfTest.Result selfTest = new DataPathSelfTest(policy, kernel, random).run();
      log.info("data-path self-test passed: {} synthetic rounds, {} synthetic updates, {} ms", selfTest.rounds(),
          selfTest.updates(), selfTest.nanos() / 1_000_000);
      KeyBrokerClient broker = new KeyBrokerClient(address("--broker", opts.get("--broker")),
          config.keyBroker().caCertificatePem(), config.keyBroker().serverName(), platform, key);
      ModelVault vault = new ModelVault(policy, config, broker, random);
      vault.open(); // the broker checks our PCRs here: a modified enclave stops now

      // central DP noise (DP-FedAvg) from the CSPRNG-driven sampler, seeded from OS entropy inside the enclave
      org.cloister.dp.noise.GaussianNoise noise = policy.centralDp() != null
          ? org.cloister.dp.noise.SecureGaussianNoise.fromOsEntropy() : null;
      SecureAggregatorService service = new SecureAggregatorService(policy, config, key, signer, platform,
          AttestationPlatforms.label(platformName), pcrs, vault, noise, kernel,
          new ReceiptIssuer(signer, platform, key.publicKey(), configBytes, policyBytes, java.time.Clock.systemUTC()));
      // OkHttp, not Netty, plaintext on purpose (EnclaveServer): a whole update in flight before the enclave
      // acknowledges it, not 1 MB (the default) at a time
      server = EnclaveServer.start(address("--listen", opts.getOrDefault("--listen", "127.0.0.1:0")),
          policy.dimension() * Float.BYTES + (1 << 20), false, java.util.List.of(service));
      if (opts.containsKey("--vsock-listen")) {
        log.info("vsock bridge {}", VsockForwarder.inbound(new Vsock(), Integer.parseInt(opts.get("--vsock-listen")),
            (InetSocketAddress) server.getListenSockets().get(0)));
      }
      log.info("enclave for study {} serving: {} parameters, {} members, kernel {}, PCR0 {}", policy.studyId(),
          policy.dimension(), config.members().size(), kernel.name(), HexFormat.of().formatHex(pcrs.get(0)));
      out.println(READY + "port=" + ((InetSocketAddress) server.getListenSockets().get(0)).getPort()
          + " pcr0=" + HexFormat.of().formatHex(pcrs.get(0)));
      out.flush();
    } catch (KeyBrokerClient.RefusedException e) {
      return failed(out, err, e.getMessage(), 3);
    } catch (DataPathSelfTest.Failure e) {
      return failed(out, err, "data-path self-test failed, not serving: " + e.getMessage(), 1);
    } catch (IOException | RuntimeException e) {
      return failed(out, err, e.getMessage() == null ? e.toString() : e.getMessage(), 1);
    }
    ProcessLifecycle.serveUntilStopped(server, flags.contains("--exit-with-parent"), null);
    return 0;
  }

  private static int failed(PrintStream out, PrintStream err, String message, int code) {
    out.println(FAILED + message);
    out.flush();
    err.println("enclave: " + message);
    return code;
  }

  private static void parse(String[] args, Map<String, String> opts, Set<String> flags) {
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (FLAGS.contains(a)) {
        flags.add(a);
      } else if (VALUED.contains(a)) {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("option " + a + " needs a value");
        }
        opts.put(a, args[++i]);
      } else {
        throw new IllegalArgumentException("unknown option '" + a + "'");
      }
    }
  }

  private static InetSocketAddress address(String option, String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    try {
      return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(option + " must be HOST:PORT, got '" + hostPort + "'");
    }
  }

  private static Path path(String p) {
    return p == null ? null : Path.of(p);
  }
}
