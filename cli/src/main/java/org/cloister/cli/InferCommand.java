package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.cloister.coordinator.service.CertificateIdentityResolver;
import org.cloister.coordinator.service.DevelopmentHeaderIdentityResolver;
import org.cloister.coordinator.service.SiteIdentityResolver;
import org.cloister.enclave.runtime.ProcessArgs;
import org.cloister.inference.client.AttestationSummary;
import org.cloister.inference.client.FeatureRows;
import org.cloister.inference.client.InferenceClient;
import org.cloister.inference.client.InferenceException;
import org.cloister.inference.client.Prediction;
import org.cloister.inference.enclave.InferencePolicy;
import org.cloister.protocol.Headers;
import org.cloister.protocol.tls.MutualTls;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.consortium.inference.InferenceDeployment;
import org.cloister.consortium.inference.PublishedStudy;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.AttestationVerifier;
import org.cloister.trust.attestation.DevelopmentWarning;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.pki.Pem;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cloister infer}: serve a study's model from an inference enclave, and query it as a clinician. */
@Command(name = "infer", mixinStandardHelpOptions = true,
    description = "Serve a study's published model from an attested inference enclave, and query it with sealed requests.",
    subcommands = {InferCommand.Serve.class, InferCommand.Query.class, InferCommand.Drop.class, InferMeasureCommand.class})
final class InferCommand implements Runnable {
  static final String DEFAULT_ENDPOINT = "127.0.0.1:7443";

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** mTLS material: all three or none. */
  static final class Tls {
    @Option(names = "--tls-cert", paramLabel = "PEM", description = "This party's certificate chain (mutual TLS).")
    Path cert;
    @Option(names = "--tls-key", paramLabel = "PEM", description = "Its private key.")
    Path key;
    @Option(names = "--tls-ca", paramLabel = "PEM", description = "The consortium CA the other side's certificate must chain to.")
    Path ca;

    boolean enabled(CommandLine cl) {
      int given = (cert != null ? 1 : 0) + (key != null ? 1 : 0) + (ca != null ? 1 : 0);
      if (given != 0 && given != 3) {
        throw new CommandLine.ParameterException(cl, "--tls-cert, --tls-key and --tls-ca go together");
      }
      return given == 3;
    }
  }

  @Command(name = "serve", mixinStandardHelpOptions = true,
      description = {"Serves a study's published model from an attested inference enclave, with its model card.",
          "As the host (and, for a simulated study, the consortium): grants the inference enclave Decrypt on "
          + "the study's model key under its own PCRs, starts the key broker from the study's consortium "
          + "directory, starts the inference enclave as a separate process (it obtains the key by attestation and "
          + "decrypts the published artifact in memory) and serves clients on --listen, relaying only ciphertext. "
          + "Runs until interrupted."})
  static final class Serve implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--study-dir", paramLabel = "DIR", defaultValue = "out/demo",
        description = "Out directory of a study run with secure aggregation (holds consortium/) (default ${DEFAULT-VALUE}).")
    Path studyDir;

    @Option(names = "--kit", paramLabel = "DIR",
        description = "A provisioned coordinator kit (kits/coordinator) after its study ran, instead of --study-dir: "
            + "its published models, key broker and model card.")
    Path kit;

    @Option(names = "--model-version", paramLabel = "V",
        description = "Published model version to serve (default: the latest).")
    Long modelVersion;

    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = DEFAULT_ENDPOINT,
        description = "Client endpoint (default ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--broker", paramLabel = "HOST:PORT",
        description = "Use this running key broker (started after the grant) instead of starting one.")
    String broker;

    @Option(names = org.cloister.consortium.inference.SimulationOnly.ALLOW_FLAG,
        description = "Serve a model a simulation produced (seeded noise: no privacy guarantee). Demos and tests only.")
    boolean allowSimulationModel;

    @CommandLine.ArgGroup(exclusive = false)
    Tls tls = new Tls();

    @Override
    public Integer call() throws Exception {
      CommandLine cl = spec.commandLine();
      PrintWriter out = cl.getOut();
      if (modelVersion != null && modelVersion < 1) {
        throw new CommandLine.ParameterException(cl, "--model-version must be >= 1, got " + modelVersion);
      }
      InetSocketAddress endpoint = address(cl, "--listen", listen);
      InetSocketAddress brokerAddress = broker == null ? null : address(cl, "--broker", broker);
      Path consortium = kit != null ? kit : studyDir.resolve(InferenceDeployment.CONSORTIUM_DIRECTORY);
      InferenceDeployment.Layout layout = kit != null ? InferenceDeployment.Layout.coordinatorKit(kit)
          : InferenceDeployment.Layout.simulation(consortium);
      PublishedStudy study;
      Path artifact;
      long version;
      try {
        study = kit != null ? kitStudy(kit) : PublishedStudy.read(consortium);
        version = modelVersion != null ? modelVersion : InferenceDeployment.latestVersion(layout, study.studyId());
        artifact = InferenceDeployment.artifact(layout, study.studyId(), version);
      } catch (IOException | IllegalArgumentException e) {
        cl.getErr().println("infer serve: " + e.getMessage());
        return 2;
      }
      java.util.Optional<Path> marker = org.cloister.consortium.inference.SimulationOnly.find(artifact);
      if (study.isSimulationOnly() || marker.isPresent()) {
        String what = "model version " + version + " of study " + study.studyId();
        Path by = marker.orElse(consortium.resolve(PublishedStudy.FILE));
        if (!allowSimulationModel) {
          cl.getErr().println("infer serve: " + org.cloister.consortium.inference.SimulationOnly.refusal(what, by));
          return 2;
        }
        cl.getErr().println("WARNING: serving " + what + ", a simulation's model (seeded noise, NO privacy guarantee), "
            + "because of " + org.cloister.consortium.inference.SimulationOnly.ALLOW_FLAG);
      }
      ServerCredentials credentials;
      SiteIdentityResolver identities;
      if (tls.enabled(cl)) {
        credentials = MutualTls.serverCredentials(Pem.readCertificates(tls.cert), Pem.readPrivateKey(tls.key),
            Pem.readCertificate(tls.ca), java.util.Set.of()); // no revocation list here
        identities = new CertificateIdentityResolver();
      } else {
        if (!endpoint.getAddress().isLoopbackAddress()) {
          throw new CommandLine.ParameterException(cl, "without --tls-cert/--tls-key/--tls-ca the endpoint must be on "
              + "loopback (clients name themselves with a development header)");
        }
        credentials = InsecureServerCredentials.create();
        identities = new DevelopmentHeaderIdentityResolver();
        cl.getErr().println("WARNING: development endpoint without TLS: clients' identities are self-asserted (queries "
            + "and answers are still sealed end to end).");
      }
      org.cloister.data.ModelCard card;
      try {
        card = InferenceDeployment.modelCard(consortium, study.studyId());
      } catch (IOException e) {
        cl.getErr().println("infer serve: " + e.getMessage());
        return 2;
      }
      if (card == null) {
        cl.getErr().println("WARNING: " + consortium + " has no " + org.cloister.data.ModelCard.FILE + ": the enclave "
            + "serves no feature rules or class names, so clients must send model inputs (infer query --model-inputs)");
      }
      InferenceDeployment.Provisioned p = InferenceDeployment.provision(layout, card != null
              ? InferencePolicy.of(study.modelName(), card)
              : InferencePolicy.of(study.studyId(), study.modelName(), study.numFeatures(), study.numClasses()),
          InferenceDeployment.locateImage());
      Path audit = kit != null ? layout.inference().resolve("inference-audit.jsonl") : studyDir.resolve("inference-audit.jsonl");
      // the run's one development-platform warning: the key broker and the enclave it starts log theirs at DEBUG
      java.util.Optional<String> development = InferenceDeployment.developmentWarning(layout);
      development.ifPresent(w -> {
        cl.getErr().println(w);
        cl.getErr().flush();
      });
      InferenceDeployment d;
      try {
        d = InferenceDeployment.serve(layout, p, artifact, audit, brokerAddress, null, endpoint, credentials,
            identities, development.isPresent() ? DevelopmentWarning.warnedEnvironment() : Map.of());
      } catch (IOException e) {
        cl.getErr().println("infer serve: " + e.getMessage());
        return 1;
      }
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        d.close();
        stopped.countDown();
      }, "infer-serve-shutdown"));
      out.printf(Locale.ROOT, "serving study %s model %s version %d (%d features, %d classes) on %s:%d%n",
          study.studyId(), study.modelName(), version, study.numFeatures(), study.numClasses(),
          endpoint.getHostString(), d.port());
      out.printf("inference enclave pid %d, PCR0 %s%n", d.enclave().pid(), d.enclave().pcr0());
      if (card != null) {
        out.printf(Locale.ROOT, "model card (in the measured policy, PCR2): %d features %s .. %s, classes %s, SHA-256 %s%n",
            card.features().size(), card.featureNames().get(0), card.featureNames().get(card.features().size() - 1),
            card.classNames(), card.sha256());
      }
      out.printf("clients pin: %s%n", p.directory().resolve(InferenceDeployment.EXPECTED_PCRS_FILE));
      out.printf("attestation root (simulated platform): %s%n", layout.devRootCert());
      out.printf("audit (no payloads): %s%n", audit);
      out.printf("try: ./cloister infer query --host %s:%d --expect-pcrs %s --trust-root %s --features FILE.csv%n",
          endpoint.getHostString(), d.port(), p.directory().resolve(InferenceDeployment.EXPECTED_PCRS_FILE),
          layout.devRootCert());
      // where `infer drop` finds the enclave's local (host-only) channel
      Path local = p.directory().resolve(ENCLAVE_ADDRESS_FILE);
      Files.writeString(local, "127.0.0.1:" + d.enclave().port() + "\n", StandardCharsets.US_ASCII);
      String drop = "./cloister infer drop " + (kit != null ? "--kit " + kit : "--study-dir " + studyDir);
      Path brokerCa = kit != null ? kit.resolve("ca.crt") : studyDir.resolve("consortium-ca.crt");
      if (d.broker() != null && Files.isRegularFile(brokerCa)) {
        // revocation from the shell: the key broker this command started, and the model key's id
        String keyId = org.cloister.enclave.EnclaveConfig.parse(Files.readAllBytes(layout.enclaveConfig())).keyBroker().keyId();
        out.printf("key broker pid %d on 127.0.0.1:%d (model key %s)%n", d.broker().pid(), d.broker().port(), keyId);
        out.printf("revoke: ./cloister broker key disable %s --broker 127.0.0.1:%d --admin-token-file %s --ca %s"
                + " (no new enclave obtains the model key), then %s (the running enclave erases the model)%n",
            keyId, d.broker().port(), layout.keyBroker().resolve("admin.token"), brokerCa, drop);
      } else {
        out.printf("revoke: %s (tells the running enclave to erase the model; disable the model key at its broker too)%n",
            drop);
      }
      out.flush();
      stopped.await();
      Files.deleteIfExists(local);
      return 0;
    }
  }

  /**
   * The study a coordinator kit ran: its id, model, features and classes from coordinator.yaml, checked
   * against the kit's aggregation policy (the model's dimension); a deployment's models are not a
   * simulation's.
   */
  static PublishedStudy kitStudy(Path kit) throws IOException {
    Path yaml = kit.resolve("coordinator.yaml");
    if (!Files.isRegularFile(yaml)) {
      throw new IOException(kit + " is not a coordinator kit (no coordinator.yaml)");
    }
    Object root = new org.yaml.snakeyaml.Yaml(new org.yaml.snakeyaml.constructor.SafeConstructor(
        new org.yaml.snakeyaml.LoaderOptions())).load(Files.readString(yaml, StandardCharsets.UTF_8));
    if (!(root instanceof Map<?, ?> c) || !(c.get("study") instanceof Map<?, ?> st)
        || !(st.get("features") instanceof Number features) || !(st.get("classes") instanceof Number classes)) {
      throw new IOException(yaml + ": no study section with id, features and classes");
    }
    org.cloister.enclave.AggregationPolicy policy = org.cloister.enclave.AggregationPolicy.parse(
        Files.readAllBytes(kit.resolve("enclave").resolve("aggregation-policy.json")));
    if (!policy.studyId().equals(String.valueOf(st.get("id")))) {
      throw new IOException(yaml + ": study " + st.get("id") + ", the kit's aggregation policy is study "
          + policy.studyId() + "'s");
    }
    return new PublishedStudy(policy.studyId(), policy.modelName(), policy.dimension(), features.intValue(),
        classes.intValue(), false);
  }

  /** Where a running {@code infer serve} records its enclave's local address (in the inference directory). */
  static final String ENCLAVE_ADDRESS_FILE = "enclave-local.address";

  @Command(name = "drop", mixinStandardHelpOptions = true,
      description = {"Tells the inference enclave of a running `infer serve` (on this host) to erase the model's "
          + "weights and data key from its memory: queries fail afterwards.",
          "Together with disabling the model key at the key broker (which stops new enclaves from loading it) this "
              + "revokes the model. Exit 0: dropped; 1: no model was loaded, or no running enclave."})
  static final class Drop implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--study-dir", paramLabel = "DIR", defaultValue = "out/demo",
        description = "The study's output directory that `infer serve` serves from (default: ${DEFAULT-VALUE}).")
    Path studyDir;

    @Option(names = "--kit", paramLabel = "DIR", description = "The coordinator kit `infer serve --kit` serves from.")
    Path kit;

    @Option(names = "--reason", paramLabel = "TEXT", defaultValue = "revoked by the operator",
        description = "Why (recorded in the enclave's audit log).")
    String reason;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Path file = (kit != null ? InferenceDeployment.Layout.coordinatorKit(kit).inference()
          : studyDir.resolve(InferenceDeployment.CONSORTIUM_DIRECTORY).resolve("inference")).resolve(ENCLAVE_ADDRESS_FILE);
      if (!Files.isRegularFile(file)) {
        err.println("infer drop: no running `infer serve` for " + (kit != null ? kit : studyDir) + " (" + file + " not found)");
        err.flush();
        return 1;
      }
      InetSocketAddress address;
      try {
        address = ProcessArgs.address("the recorded address", Files.readString(file, StandardCharsets.US_ASCII).trim());
      } catch (IllegalArgumentException e) {
        err.println("infer drop: " + file + ": " + e.getMessage());
        err.flush();
        return 1;
      }
      ManagedChannel ch = NettyChannelBuilder.forAddress(address.getHostString(), address.getPort()).usePlaintext().build();
      try {
        boolean dropped = org.cloister.protocol.v1.InferenceAdminGrpc.newBlockingStub(ch)
            .withDeadlineAfter(30, java.util.concurrent.TimeUnit.SECONDS)
            .dropModel(org.cloister.protocol.v1.DropModelRequest.newBuilder().setReason(reason).build()).getDropped();
        out.println(dropped ? "infer drop: the enclave erased the model; queries now fail"
            : "infer drop: the enclave had no model loaded");
        out.flush();
        return dropped ? 0 : 1;
      } catch (io.grpc.StatusRuntimeException e) {
        err.println("infer drop: the enclave at " + address + " did not answer: " + e.getStatus().getCode() + ": "
            + e.getStatus().getDescription());
        err.flush();
        return 1;
      } finally {
        ch.shutdownNow();
      }
    }
  }

  @Command(name = "query", mixinStandardHelpOptions = true,
      description = {"Sends a clinician's query, sealed to the attested inference enclave, and prints the prediction.",
          "As a clinician's client: obtains a fresh attestation document from the inference host, verifies it "
          + "against the trust root and the expected PCRs of the inference enclave (and sends nothing if it does "
          + "not verify), seals the query to the attested key and prints the class probabilities it opens from "
          + "the answer.",
          "Exit 0 answered, 1 attestation refused or service failure, 2 bad input."})
  static final class Query implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--host", paramLabel = "HOST:PORT", defaultValue = DEFAULT_ENDPOINT,
        description = "The inference host (default ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--features", paramLabel = "CSV_ROW_OR_FILE", required = true,
        description = "One row of comma-separated feature values, or a CSV file of rows (batch; a header line is skipped).")
    String features;

    @Option(names = "--expect-pcr", paramLabel = "INDEX=HEX", description = "An expected PCR of the inference enclave (repeatable).")
    List<String> expectPcr = new ArrayList<>();

    @Option(names = "--expect-pcrs", paramLabel = "FILE", description = "The inference enclave's expected measurements as published (inference-expected-pcrs.json, format cloister-measurements/v1).")
    Path expectPcrsFile;

    @Option(names = "--trust-root", paramLabel = "CERT",
        description = "Attestation root to trust instead of AWS Nitro's (the simulated platform's development root).")
    Path trustRoot;

    @Option(names = "--client-id", paramLabel = "NAME", defaultValue = "clinician",
        description = "Development endpoint only: the identity to claim (default ${DEFAULT-VALUE}); with TLS it is the certificate's.")
    String clientId;

    @CommandLine.ArgGroup(exclusive = false)
    Tls tls = new Tls();

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Option(names = "--clamp", description = "Clamp values outside a feature's declared range to it, as the sites' "
        + "training did, instead of refusing the row.")
    boolean clamp;

    @Option(names = "--model-inputs", description = "The values are model inputs already transformed as in training "
        + "(not raw measurements): sent as given, without the model card's checks and transform.")
    boolean modelInputs;

    @Override
    public Integer call() throws Exception {
      CommandLine cl = spec.commandLine();
      PrintWriter out = cl.getOut();
      PrintWriter err = cl.getErr();
      if (clamp && modelInputs) {
        throw new CommandLine.ParameterException(cl, "--clamp applies to raw values; --model-inputs sends values as given");
      }
      Map<Integer, byte[]> pcrs = expectedPcrs(cl);
      double[][] rows;
      try {
        Path file = csvFile(features);
        if (file == null && looksLikeAFile(features)) {
          err.println("infer query: --features: no file " + features + " (give an existing CSV file, or one row of "
              + "numbers separated by commas)");
          return 2;
        }
        rows = file != null ? FeatureRows.parse(Files.readString(file, StandardCharsets.UTF_8), true)
            : FeatureRows.parse(features, false);
      } catch (IllegalArgumentException e) {
        err.println("infer query: --features: " + e.getMessage());
        return 2;
      }
      AttestationVerifier verifier = trustRoot == null ? NitroAttestationVerifier.withAwsRoot()
          : new NitroAttestationVerifier(Pem.readCertificate(trustRoot));
      InetSocketAddress target = address(cl, "--host", host);
      ChannelCredentials creds = tls.enabled(cl) ? MutualTls.channelCredentials(Pem.readCertificates(tls.cert),
          Pem.readPrivateKey(tls.key), Pem.readCertificate(tls.ca)) : InsecureChannelCredentials.create();
      NettyChannelBuilder b = NettyChannelBuilder.forAddress(target.getHostString(), target.getPort(), creds)
          .maxInboundMessageSize(64 << 20);
      if (tls.cert == null) {
        Metadata h = new Metadata();
        h.put(Headers.DEV_SITE_ID, clientId);
        b.intercept(MetadataUtils.newAttachHeadersInterceptor(h));
      }
      ManagedChannel channel = b.build();
      try {
        InferenceClient client = new InferenceClient(channel, verifier, pcrs, Clock.systemUTC(), new SecureRandom());
        AttestationSummary a;
        try {
          a = client.attest();
        } catch (AttestationException e) {
          err.println("infer query: attestation refused, query NOT sent: " + e.reason() + ": " + e.getMessage()
              + (String.valueOf(e.reason()).equals("PCR_MISMATCH") ? " (--expect-pcrs must pin the inference enclave: the"
              + " file `infer serve` prints as 'clients pin:', e.g. kits/coordinator/inference/inference-expected-pcrs.json;"
              + " a site kit's expected-pcrs.json pins the secure aggregator)" : ""));
          return 1;
        } catch (IllegalStateException e) {
          err.println("infer query: " + e.getMessage());
          return 1;
        }
        Prediction p;
        try {
          p = modelInputs ? client.predict(rows) : client.predictRaw(rows, clamp);
        } catch (InferenceException e) {
          if (e.inputError() && a.modelCard() == null && !modelInputs) {
            err.println("infer query: input refused: " + e.getMessage() + " (--model-inputs)");
            return 2;
          }
          if (e.inputError() && !clamp && !modelInputs && e.getMessage().contains("outside the study's declared range")) {
            err.println("infer query: input refused: " + e.getMessage() + "; --clamp clamps as training did");
            return 2;
          }
          err.println("infer query: " + (e.inputError() ? "input refused: " : "") + e.getMessage());
          return e.inputError() ? 2 : 1;
        }
        print(out, a, p);
        return 0;
      } finally {
        channel.shutdownNow();
      }
    }

    private void print(PrintWriter out, AttestationSummary a, Prediction p) throws IOException {
      Map<String, Object> att = new LinkedHashMap<>();
      att.put("module_id", a.moduleId());
      att.put("timestamp", a.timestamp().toString());
      att.put("pcrs", a.pcrs());
      att.put("study_id", a.studyId());
      att.put("model_name", a.modelName());
      att.put("model_version", a.modelVersion());
      att.put("artifact_sha256", a.artifactSha256());
      if (a.modelCard() != null) {
        att.put("model_card_sha256", a.modelCard().sha256());
      }
      List<String> classes = a.modelCard() != null ? a.modelCard().classNames() : null;
      if (json) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("request_id", p.requestId());
        root.put("model_version", p.modelVersion());
        List<float[]> probs = List.of(p.probabilities());
        if (classes != null) {
          root.put("classes", classes);
        }
        root.put("inputs", modelInputs ? "model inputs as given" : "raw values, transformed by the model card"
            + (clamp ? " (out-of-range values clamped)" : ""));
        root.put("probabilities", probs);
        root.put("attestation", att);
        out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root));
      } else {
        out.printf(Locale.ROOT, "attested: %s (study %s, model %s version %d), PCRs %s at %s%n", a.moduleId(),
            a.studyId(), a.modelName(), a.modelVersion(), a.pcrs().keySet(), a.timestamp());
        out.println(modelInputs ? "inputs: model inputs as given (--model-inputs)"
            : "inputs: raw values, checked and transformed by the attested model card (SHA-256 " + a.modelCard().sha256()
            + ")" + (clamp ? ", out-of-range values clamped" : ""));
        for (int r = 0; r < p.probabilities().length; r++) {
          StringBuilder s = new StringBuilder("row " + (r + 1) + ":");
          for (int k = 0; k < p.probabilities()[r].length; k++) {
            s.append(classes != null && k < classes.size()
                ? String.format(Locale.ROOT, " %s %.6f", classes.get(k), p.probabilities()[r][k])
                : String.format(Locale.ROOT, " class %d %.6f", k, p.probabilities()[r][k]));
          }
          out.println(s);
        }
      }
      out.flush();
    }

    private Map<Integer, byte[]> expectedPcrs(CommandLine cl) throws IOException {
      Map<Integer, byte[]> pcrs = new TreeMap<>();
      if (expectPcrsFile != null) {
        try {
          pcrs.putAll(SecureAggregationSetup.readPcrs(expectPcrsFile));
        } catch (IOException e) {
          throw new CommandLine.ParameterException(cl, "--expect-pcrs: " + e.getMessage());
        }
      }
      for (String e : expectPcr) {
        int eq = e.indexOf('=');
        int index;
        try {
          index = Integer.parseInt(e.substring(0, eq));
        } catch (RuntimeException x) {
          throw new CommandLine.ParameterException(cl, "--expect-pcr must be INDEX=HEX, got '" + e + "'");
        }
        pcrs.put(index, hex(cl, e.substring(eq + 1), "--expect-pcr"));
      }
      if (!pcrs.containsKey(0)) {
        throw new CommandLine.ParameterException(cl, "give the inference enclave's expected PCRs (at least PCR0) with "
            + "--expect-pcr 0=HEX ... or --expect-pcrs FILE: no query is sent to an enclave the client cannot check");
      }
      return pcrs;
    }
  }

  /** A value meant as a file name: no row of numbers has a path separator or ends in .csv, .tsv or .txt. */
  static boolean looksLikeAFile(String value) {
    String v = value.strip().toLowerCase(Locale.ROOT);
    return v.contains("/") || v.contains(java.io.File.separator) || v.endsWith(".csv") || v.endsWith(".tsv")
        || v.endsWith(".txt");
  }

  /** The file {@code value} names, or null when it is a row of values. */
  static Path csvFile(String value) {
    try {
      Path f = Path.of(value);
      return Files.isRegularFile(f) ? f : null;
    } catch (java.nio.file.InvalidPathException e) {
      return null;
    }
  }

  static byte[] hex(CommandLine cl, String s, String option) {
    try {
      return HexFormat.of().parseHex(s.trim());
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, option + ": '" + s + "' is not hex");
    }
  }

  static InetSocketAddress address(CommandLine cl, String option, String hostPort) {
    try {
      return ProcessArgs.address(option, hostPort);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
  }
}
