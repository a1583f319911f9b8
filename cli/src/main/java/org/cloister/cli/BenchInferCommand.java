package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.cloister.coordinator.service.DevelopmentHeaderIdentityResolver;
import org.cloister.inference.client.InferenceClient;
import org.cloister.inference.client.InferenceSealing;
import org.cloister.protocol.v1.InferenceQuery;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.cloister.inference.enclave.InferencePolicy;
import org.cloister.models.ModelZoo;
import org.cloister.protocol.Headers;
import org.cloister.simulations.DpSettings;
import org.cloister.simulations.FederatedSimulation;
import org.cloister.consortium.inference.InferenceDeployment;
import org.cloister.consortium.inference.PublishedStudy;
import org.cloister.simulations.ScenarioLoader;
import org.cloister.simulations.SecureAggregationStack;
import org.cloister.simulations.SimulationConfig;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.pki.Pem;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code cloister bench infer}: attested, sealed inference through the host relay and the inference
 * enclave process on loopback, beside plain DL4J {@code output} of a network of the same
 * architecture and shape in this process, in the same run.
 */
@Command(name = "infer", mixinStandardHelpOptions = true,
    description = {"Measures attested sealed inference latency and throughput beside plain DL4J output.",
        "Runs a short secure-aggregation study (WDBC, logistic regression, 2 sites, 2 rounds, no DP) to "
        + "publish a model, serves it from the inference enclave, then measures single queries and batches of "
        + "256 rows through the client (HPKE seal, host relay, enclave, sealed answer) and plain DL4J output of "
        + "the same architecture in this JVM, alternately in one run: queries/s, p50 and p99 latency, and the "
        + "differences."})
final class BenchInferCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--singles", defaultValue = "2000", description = "Measured single-row queries (default ${DEFAULT-VALUE}).")
  int singles;

  @Option(names = "--batches", defaultValue = "200", description = "Measured batches of 256 rows (default ${DEFAULT-VALUE}).")
  int batches;

  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Option(names = "--study-dir", paramLabel = "DIR",
      description = "Serve the last published model of this study's out directory instead of running a short study first.")
  Path studyDir;

  static final int BATCH = 256;

  @Override
  public Integer call() throws Exception {
    CommandLine cl = spec.commandLine();
    if (singles < 10 || batches < 10) {
      throw new CommandLine.ParameterException(cl, "--singles and --batches must be >= 10");
    }
    PrintWriter err = cl.getErr();
    Path work = Files.createTempDirectory("cloister-bench-infer-");
    try {
      Path consortium;
      if (studyDir == null) {
        SimulationConfig cfg = new ScenarioLoader().loadBuiltin("demo").outDir(work).studyId("bench-infer")
            .sites(2).rounds(2).minSitesPerRound(2).dp(DpSettings.off()).build();
        progress(err, "publishing a model: a 2-round secure-aggregation study...");
        new FederatedSimulation(cfg, r -> { }).run();
        consortium = work.resolve(SecureAggregationStack.CONSORTIUM_DIRECTORY);
      } else {
        consortium = studyDir.resolve(SecureAggregationStack.CONSORTIUM_DIRECTORY);
      }
      PublishedStudy study = PublishedStudy.read(consortium);
      InferenceDeployment.Provisioned p = InferenceDeployment.provision(consortium,
          InferencePolicy.of(study.studyId(), study.modelName(), study.numFeatures(), study.numClasses()),
          InferenceDeployment.locateImage());
      progress(err, "starting the key broker, the inference enclave and the host relay...");
      try (InferenceDeployment d = InferenceDeployment.serve(consortium, p,
          InferenceDeployment.artifact(consortium, study.studyId(), InferenceDeployment.latestVersion(consortium,
              study.studyId())), work.resolve("inference-audit.jsonl"),
          null, null, new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create(),
          new DevelopmentHeaderIdentityResolver())) {
        Metadata h = new Metadata();
        h.put(Headers.DEV_SITE_ID, "bench");
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", d.port()).usePlaintext()
            .intercept(MetadataUtils.newAttachHeadersInterceptor(h)).build();
        try {
          InferenceClient client = new InferenceClient(ch, new NitroAttestationVerifier(
              Pem.readCertificate(consortium.resolve("dev-attestation-root.pem"))), p.expectedPcrs(), Clock.systemUTC(),
              new SecureRandom());
          long t0 = System.nanoTime();
          client.attest();
          double attestMs = (System.nanoTime() - t0) / 1e6;
          MultiLayerNetwork plain = ModelZoo.newNetwork(ModelZoo.byName(study.modelName()), study.numFeatures(),
              study.numClasses(), 1, null, DataType.FLOAT);
          Random r = new Random(7);
          double[][] one = rows(r, 1, study.numFeatures());
          double[][] batch = rows(r, BATCH, study.numFeatures());
          INDArray oneIn = toArray(one);
          INDArray batchIn = toArray(batch);
          progress(err, "warming up...");
          for (int i = 0; i < Math.max(200, singles / 5); i++) {
            client.predict(one);
            plain.output(oneIn, false);
          }
          for (int i = 0; i < 20; i++) {
            client.predict(batch);
            plain.output(batchIn, false);
          }
          progress(err, "measuring...");
          long[] sealedSingle = new long[singles];
          long[] plainSingle = new long[singles];
          for (int i = 0; i < singles; i++) { // alternate, so both see the same machine state
            long a = System.nanoTime();
            client.predict(one);
            long b = System.nanoTime();
            plain.output(oneIn, false);
            long c = System.nanoTime();
            sealedSingle[i] = b - a;
            plainSingle[i] = c - b;
          }
          // breakdown of the single-query difference: the same sealed query sent to the enclave's local
          // channel directly (no relay hop), and the sealing alone in this JVM (no transport, no model)
          InferenceClient direct = new InferenceClient(d.enclave().channel(), new NitroAttestationVerifier(
              Pem.readCertificate(consortium.resolve("dev-attestation-root.pem"))), p.expectedPcrs(), Clock.systemUTC(),
              new SecureRandom());
          direct.attest();
          long[] directSingle = new long[singles];
          long[] cryptoSingle = new long[singles];
          for (int i = 0; i < Math.max(200, singles / 5); i++) {
            direct.predict(one);
            sealingOnly(one);
          }
          for (int i = 0; i < singles; i++) {
            long a = System.nanoTime();
            direct.predict(one);
            long b = System.nanoTime();
            sealingOnly(one);
            long c = System.nanoTime();
            directSingle[i] = b - a;
            cryptoSingle[i] = c - b;
          }
          long[] sealedBatch = new long[batches];
          long[] plainBatch = new long[batches];
          for (int i = 0; i < batches; i++) {
            long a = System.nanoTime();
            client.predict(batch);
            long b = System.nanoTime();
            plain.output(batchIn, false);
            long c = System.nanoTime();
            sealedBatch[i] = b - a;
            plainBatch[i] = c - b;
          }
          Map<String, Object> root = new LinkedHashMap<>();
          root.put("model", study.modelName() + " (" + study.dimension() + " parameters, " + study.numFeatures()
              + " features)");
          root.put("platform", "simulated-nitro, loopback gRPC, client -> host relay -> enclave process");
          root.put("attest_ms", round(attestMs));
          root.put("single", compare(sealedSingle, plainSingle, 1));
          root.put("batch_256", compare(sealedBatch, plainBatch, BATCH));
          Map<String, Object> breakdown = new LinkedHashMap<>();
          breakdown.put("single_without_relay_p50_ms", stats(directSingle, 1).get("p50_ms"));
          breakdown.put("single_sealing_only_p50_ms", stats(cryptoSingle, 1).get("p50_ms"));
          breakdown.put("note", "without_relay: client to the enclave's local channel (host relay hop left out); "
              + "sealing_only: HPKE seal + export, HPKE open + export, reply seal and open, in this JVM");
          root.put("breakdown", breakdown);
          root.put("load_average_1m", round(java.lang.management.ManagementFactory.getOperatingSystemMXBean()
              .getSystemLoadAverage()));
          root.put("cores", Runtime.getRuntime().availableProcessors());
          PrintWriter out = cl.getOut();
          if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root));
          } else {
            out.println("attestation (once per session): " + root.get("attest_ms") + " ms");
            for (String k : new String[] {"single", "batch_256"}) {
              out.println(k + ": " + root.get(k));
            }
          }
          out.flush();
        } finally {
          ch.shutdownNow();
        }
      }
      return 0;
    } finally {
      deleteTree(work);
    }
  }

  private void progress(PrintWriter err, String s) {
    if (!json) {
      err.println(s);
      err.flush();
    }
  }

  static Map<String, Object> compare(long[] sealed, long[] plain, int rowsPerCall) {
    Map<String, Object> m = new LinkedHashMap<>();
    Map<String, Object> s = stats(sealed, rowsPerCall);
    Map<String, Object> p = stats(plain, rowsPerCall);
    m.put("attested_sealed", s);
    m.put("plain_dl4j_output", p);
    m.put("p50_difference_ms", round((double) s.get("p50_ms") - (double) p.get("p50_ms")));
    m.put("p99_difference_ms", round((double) s.get("p99_ms") - (double) p.get("p99_ms")));
    m.put("throughput_ratio", round((double) s.get("queries_per_s") / (double) p.get("queries_per_s")));
    return m;
  }

  static Map<String, Object> stats(long[] nanos, int rowsPerCall) {
    long[] s = nanos.clone();
    Arrays.sort(s);
    double total = Arrays.stream(s).sum() / 1e9;
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("calls", s.length);
    m.put("queries_per_s", round(s.length / total));
    m.put("rows_per_s", round(s.length * (double) rowsPerCall / total));
    m.put("p50_ms", round(s[s.length / 2] / 1e6));
    m.put("p99_ms", round(s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.99) - 1)] / 1e6));
    return m;
  }

  static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  private final Hpke hpke = new Hpke();
  private final Hpke enclaveSide = new Hpke();
  private final HpkeKeyPair benchKey = new Hpke().generateKeyPair();
  private final SecureRandom random = new SecureRandom();

  /** The query's and the answer's cryptography alone, as client and enclave do it (to a local key). */
  private void sealingOnly(double[][] rows) throws Exception {
    InferenceQuery.Builder q = InferenceQuery.newBuilder().setNumFeatures(rows[0].length);
    for (double[] row : rows) {
      for (double v : row) {
        q.addValues(v);
      }
    }
    byte[] aad = InferenceSealing.aad("bench-request-000001", "bench", 1);
    Hpke.SealedWithSecret s = hpke.sealAndExport(benchKey.publicKey(), InferenceSealing.QUERY_INFO, aad,
        q.build().toByteArray(), InferenceSealing.REPLY_EXPORT, InferenceSealing.REPLY_KEY_BYTES);
    Hpke.OpenedWithSecret o = enclaveSide.openAndExport(benchKey, s.message(), InferenceSealing.QUERY_INFO,
        aad, InferenceSealing.REPLY_EXPORT, InferenceSealing.REPLY_KEY_BYTES);
    InferenceQuery.parseFrom(o.plaintext());
    byte[] reply = InferenceSealing.sealReply(o.exportedSecret(), aad, new byte[24]);
    InferenceSealing.openReply(s.exportedSecret(), aad, reply);
  }

  static double[][] rows(Random r, int n, int features) {
    double[][] x = new double[n][features];
    for (double[] row : x) {
      for (int j = 0; j < features; j++) {
        row[j] = r.nextGaussian();
      }
    }
    return x;
  }

  static INDArray toArray(double[][] x) {
    float[] flat = new float[x.length * x[0].length];
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < x[0].length; j++) {
        flat[i * x[0].length + j] = (float) x[i][j];
      }
    }
    return Nd4j.create(flat, new long[] {x.length, x[0].length}, 'c');
  }

  static void deleteTree(Path root) {
    try (var s = Files.walk(root)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (java.io.IOException e) {
      // best effort: a temporary directory
    }
  }
}
