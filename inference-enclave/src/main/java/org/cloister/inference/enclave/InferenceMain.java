package org.cloister.inference.enclave;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.cloister.enclave.runtime.AttestationPlatforms;
import org.cloister.enclave.runtime.EnclaveServer;
import org.cloister.enclave.runtime.KeyBrokerClient;
import org.cloister.enclave.runtime.ModelArtifactCipher;
import org.cloister.enclave.runtime.ProcessLifecycle;
import org.cloister.enclave.runtime.ProcessArgs;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.EncryptedModel;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ServedModel;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference enclave process. The host starts it from its image (development: {@code java -cp
 * IMAGE/*:IMAGE/lib/* org.cloister.inference.enclave.InferenceMain ...}) and reaches it only over a
 * local channel.
 *
 * <p>At start it measures its image, configuration and policy (PCR0..2), generates its HPKE key
 * pair, asks the key broker to {@code Decrypt} the model's data key by presenting an attestation
 * document (and stops with the broker's reason if refused: a modified image, a disabled key),
 * decrypts the artifact in memory, loads the weights into its plain-Java kernel ({@link InferenceKernel}: no DL4J in the
 * image) and serves; then prints
 * {@value #READY}{@code port=N pcr0=HEX model_version=V}.
 *
 * <pre>
 * --config CONFIG.json --policy POLICY.json --broker HOST:PORT --artifact MODEL.bin --audit-log AUDIT.jsonl
 * [--listen 127.0.0.1:0] --platform simulated --dev-root-cert ROOT.pem --dev-root-key ROOT.key [--exit-with-parent]
 * [--vsock-outbound LOCALPORT=CID:PORT] [--vsock-listen PORT]   (in a Nitro enclave, as EnclaveMain)
 * </pre>
 * The artifact file stands for the ciphertext the host hands over its local channel (the host cannot read it).
 */
public final class InferenceMain {
  public static final String READY = "CLOISTER-INFERENCE READY ";
  public static final String FAILED = "CLOISTER-INFERENCE FAILED ";
  private static final Logger log = LoggerFactory.getLogger(InferenceMain.class);
  private static final Set<String> VALUED = Set.of("--config", "--policy", "--broker", "--artifact", "--audit-log",
      "--listen", "--platform", "--dev-root-cert", "--dev-root-key", "--vsock-outbound", "--vsock-listen");
  private static final Set<String> FLAGS = Set.of("--exit-with-parent");

  private InferenceMain() {
  }

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs until stopped; the exit code: 2 usage, 3 refused by the key broker, 1 other failure. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    ProcessArgs a;
    try {
      a = ProcessArgs.parse(args, VALUED, FLAGS);
      for (String required : new String[] {"--config", "--policy", "--broker", "--artifact", "--audit-log"}) {
        a.required(required);
      }
    } catch (IllegalArgumentException e) {
      return failed(out, err, e.getMessage(), 2);
    }
    Server server;
    AuditTrail audit = null;
    try {
      byte[] configBytes = Files.readAllBytes(a.requiredPath("--config"));
      byte[] policyBytes = Files.readAllBytes(a.requiredPath("--policy"));
      InferenceConfig config = InferenceConfig.parse(configBytes);
      InferencePolicy policy = InferencePolicy.parse(policyBytes);
      Map<Integer, byte[]> pcrs = InferenceMeasurement.pcrs(InferenceMeasurement.image(), configBytes, policyBytes);
      if (a.optional("--vsock-outbound", null) != null) { // in a Nitro enclave: the broker through the parent
        log.info("vsock bridge {}", org.cloister.enclave.runtime.tee.VsockForwarder.outbound(
            a.optional("--vsock-outbound", null), new org.cloister.enclave.runtime.tee.Vsock()));
      }
      org.cloister.enclave.runtime.EvidenceSource platform = AttestationPlatforms.open(a.optional("--platform", "simulated"),
          path(a.optional("--dev-root-cert", null)), path(a.optional("--dev-root-key", null)), config.moduleId(),
          pcrs, configBytes, policyBytes, err);
      HpkeKeyPair key = new Hpke().generateKeyPair();
      // SEV-SNP / TDX: the files we loaded must be the ones the VM was launched with (host_data / mr_config_id)
      org.cloister.enclave.runtime.LaunchedConfiguration.require(platform, configBytes, policyBytes, key.publicKey(),
          new java.security.SecureRandom());

      ModelArtifact artifact = readArtifact(a.requiredPath("--artifact"), policy);
      EncryptedModel envelope = ModelArtifactCipher.envelope(artifact, policy.studyId(), config.keyId());
      float[] weights;
      try (KeyBrokerClient broker = new KeyBrokerClient(ProcessArgs.address("--broker", a.required("--broker")),
          config.brokerCaPem(), config.brokerServerName(), platform, key)) {
        // the broker checks our PCRs against the inference grant of the key: a modified image stops here
        byte[] dataKey = broker.decrypt(config.keyId(), envelope.getWrappedDataKey().toByteArray(),
            ModelArtifactCipher.context(policy.studyId()));
        try {
          weights = ModelArtifactCipher.decrypt(artifact, envelope, dataKey, policy.studyId(), policy.modelName(),
              (int) artifact.getDimension());
        } finally {
          Arrays.fill(dataKey, (byte) 0);
        }
      }
      ServedNetwork network;
      try {
        network = new ServedNetwork(policy, weights);
      } finally {
        ServedNetwork.wipe(weights);
      }
      ServedModel served = ServedModel.newBuilder().setStudyId(policy.studyId()).setModelName(policy.modelName())
          .setModelVersion(artifact.getVersion()).setNumFeatures(policy.numFeatures())
          .setNumClasses(policy.numClasses())
          .setArtifactSha256(ByteString.copyFrom(FloatCodec.sha256(artifact.getPayload().toByteArray())))
          .setModelCardSha256(policy.modelCard() == null ? ByteString.EMPTY
              : ByteString.copyFrom(HexFormat.of().parseHex(policy.modelCard().sha256()))).build();
      audit = new AuditTrail(a.requiredPath("--audit-log"), Clock.systemUTC());
      Map<String, Object> loaded = new LinkedHashMap<>();
      loaded.put("study_id", policy.studyId());
      loaded.put("model_version", artifact.getVersion());
      loaded.put("pcr0", HexFormat.of().formatHex(pcrs.get(0)));
      audit.event("model_loaded", loaded);
      InferenceService service = new InferenceService(policy, served, key, platform, network, audit);
      long maxMessage = (long) policy.maxBatchRows() * policy.numFeatures() * 9L + (1 << 16);
      // gRPC over OkHttp (EnclaveServer, as the secure aggregator): no Netty in the measured image
      server = EnclaveServer.start(ProcessArgs.address("--listen", a.optional("--listen", "127.0.0.1:0")),
          (int) Math.min(Integer.MAX_VALUE, maxMessage),
          true, // short calls from one local caller (the host): no executor hand-off per request
          java.util.List.of(service.inference(), service.admin()));
      if (a.optional("--vsock-listen", null) != null) { // in a Nitro enclave: the host reaches us through vsock
        log.info("vsock bridge {}", org.cloister.enclave.runtime.tee.VsockForwarder.inbound(
            new org.cloister.enclave.runtime.tee.Vsock(), Integer.parseInt(a.optional("--vsock-listen", null)),
            (InetSocketAddress) server.getListenSockets().get(0)));
      }
      log.info("inference enclave serving study {} model {} version {} ({} features, {} classes), PCR0 {}",
          policy.studyId(), policy.modelName(), artifact.getVersion(), policy.numFeatures(), policy.numClasses(),
          HexFormat.of().formatHex(pcrs.get(0)));
      out.println(READY + "port=" + ((InetSocketAddress) server.getListenSockets().get(0)).getPort()
          + " pcr0=" + HexFormat.of().formatHex(pcrs.get(0)) + " model_version=" + artifact.getVersion());
      out.flush();
    } catch (KeyBrokerClient.RefusedException e) {
      return failed(out, err, e.getMessage(), 3);
    } catch (IOException | RuntimeException e) {
      return failed(out, err, e.getMessage() == null ? e.toString() : e.getMessage(), 1);
    }
    ProcessLifecycle.serveUntilStopped(server, a.flag("--exit-with-parent"), audit);
    return 0;
  }

  private static ModelArtifact readArtifact(Path file, InferencePolicy policy) throws IOException {
    ModelArtifact m;
    try {
      m = ModelArtifact.parseFrom(Files.readAllBytes(file));
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IOException(file + " is not a model artifact: " + e.getMessage(), e);
    }
    if (!ModelArtifactCipher.FORMAT.equals(m.getFormat())) {
      throw new IOException(file + ": artifact format is '" + m.getFormat() + "', expected the encrypted '"
          + ModelArtifactCipher.FORMAT + "'");
    }
    if (!m.getStudyId().equals(policy.studyId()) || !m.getModelName().equals(policy.modelName())) {
      throw new IOException(file + ": artifact of study " + m.getStudyId() + " model " + m.getModelName()
          + ", the policy serves study " + policy.studyId() + " model " + policy.modelName());
    }
    if (!Arrays.equals(FloatCodec.sha256(m.getPayload().toByteArray()), m.getSha256().toByteArray())) {
      throw new IOException(file + ": artifact payload does not match its SHA-256 (altered or truncated)");
    }
    return m;
  }

  private static int failed(PrintStream out, PrintStream err, String message, int code) {
    out.println(FAILED + message);
    out.flush();
    err.println("inference enclave: " + message);
    return code;
  }

  private static Path path(String p) {
    return p == null ? null : Path.of(p);
  }
}
