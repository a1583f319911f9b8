package org.cloister.simulations;

import org.cloister.consortium.inference.InferenceDeployment;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.google.protobuf.ByteString;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.cloister.coordinator.enclave.JavaProcess;
import org.cloister.coordinator.service.DevelopmentHeaderIdentityResolver;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.enclave.service.ModelVault;
import org.cloister.inference.client.AttestationSummary;
import org.cloister.inference.client.FeatureRows;
import org.cloister.inference.client.InferenceClient;
import org.cloister.inference.client.InferenceException;
import org.cloister.inference.client.Prediction;
import org.cloister.inference.enclave.InferencePolicy;
import org.cloister.models.ModelZoo;
import org.cloister.models.Parameters;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.Headers;
import org.cloister.protocol.v1.AggregateOutput;
import org.cloister.protocol.v1.KeyBrokerAdminGrpc;
import org.cloister.protocol.v1.KeyRequest;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ModelCopyAad;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SealedModelCopy;
import org.cloister.protocol.v1.SealedUpdate;
import org.cloister.protocol.v1.SecureAggregatorGrpc;
import org.cloister.site.sealing.AttestedHpkeSealer;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.pki.Pem;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The inference tier end to end with real processes: a study's secure aggregator publishes model
 * version 2 (encrypted under the broker's model key), the consortium grants the inference enclave
 * Decrypt on that key under its own PCRs, the host serves it, and a client's sealed queries are
 * answered with exactly what DL4J computes from the same weights. Then the failure paths:
 * bad input, a client expecting other PCRs, a modified image, revocation.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class InferenceTierTest {
  static final String STUDY = "infer-test";
  static final int FEATURES = 30;
  static final int CLASSES = 2;
  static final int DIM = FEATURES * CLASSES + CLASSES; // logistic regression
  /** Query values unlikely to appear anywhere by chance (scanned for in everything written). */
  static final double QUERY_BASE = 7351.0432;
  static final org.cloister.data.ModelCard CARD = org.cloister.data.BuiltinDatasets.wdbcCard(STUDY);

  @TempDir
  static Path root;
  static Path consortium;
  static float[] published;
  static InferenceDeployment.Provisioned provisioned;
  static InferenceDeployment deployment;
  static ManagedChannel clientChannel;
  static NitroAttestationVerifier verifier;
  static final List<double[]> queried = new ArrayList<>();

  @BeforeAll
  static void publishAndServe() throws Exception {
    consortium = root.resolve("consortium");
    AggregationPolicy policy = new AggregationPolicy(AggregationPolicy.FORMAT, STUDY, "logreg", DIM, 5.0, 2, 2, null,
        AggregationPolicy.FEDAVG);
    SecureAggregationStack.Setup setup = SecureAggregationStack.prepare(consortium, policy,
        List.of("site-1", "site-2", "evaluator"), java.util.Set.of("evaluator"), null, SecureAggregationStack.locateImage(),
        root.resolve("key-broker-audit.jsonl"));
    // the consortium admits the inference enclave to the model key before the broker starts
    // ... with the study's model card (WDBC's public feature rules and class names) in its measured policy
    provisioned = InferenceDeployment.provision(consortium, InferencePolicy.of("logreg", CARD),
        InferenceDeployment.locateImage());
    ModelArtifact v2;
    try (SecureAggregationStack stack = SecureAggregationStack.launch(setup, null, false)) {
      v2 = publishOneRound(stack, setup);
    }
    Path artifact = consortium.resolve("coordinator-store").resolve(STUDY).resolve("v2").resolve("model.bin");
    Files.createDirectories(artifact.getParent());
    Files.write(artifact, v2.toByteArray());

    deployment = InferenceDeployment.serve(consortium, provisioned, InferenceDeployment.artifact(consortium, STUDY, 2),
        root.resolve("inference-audit.jsonl"), null, null, new InetSocketAddress("127.0.0.1", 0),
        InsecureServerCredentials.create(), new DevelopmentHeaderIdentityResolver());
    Metadata h = new Metadata();
    h.put(Headers.DEV_SITE_ID, "clinician-7");
    clientChannel = NettyChannelBuilder.forAddress("127.0.0.1", deployment.port()).usePlaintext()
        .intercept(MetadataUtils.newAttachHeadersInterceptor(h)).build();
    verifier = new NitroAttestationVerifier(Pem.readCertificate(setup.devRootCert()));
  }

  /** One aggregation round through the real aggregator enclave: base v1 (zeros), two sites' updates. */
  static ModelArtifact publishOneRound(SecureAggregationStack stack, SecureAggregationStack.Setup setup) throws Exception {
    Server relay = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new org.cloister.coordinator.enclave.AttestationRelayService(stack.enclave().channel(),
            new org.cloister.coordinator.enclave.SealedModelStore(null))).build().start();
    ManagedChannel coordinator = NettyChannelBuilder.forAddress("127.0.0.1", relay.getPort()).usePlaintext().build();
    try {
      byte[] p0 = FloatCodec.encode(new float[DIM]);
      ModelArtifact m1 = ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(1).setModelName("logreg")
          .setDimension(DIM).setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(p0))
          .setSha256(ByteString.copyFrom(FloatCodec.sha256(p0))).build();
      RoundTask task = RoundTask.newBuilder().setStudyId(STUDY).setRound(1).setRoundId("infer-round-1").setModel(m1).build();
      List<SealedUpdate> updates = new ArrayList<>();
      for (String site : List.of("site-1", "site-2")) {
        Random r = new Random(site.hashCode());
        float[] d = new float[DIM];
        for (int i = 0; i < DIM; i++) {
          d[i] = (float) (r.nextGaussian() * 0.3);
        }
        updates.add(SiteUpdates.signed(stack, setup.issue(site), site, 10, task, d, coordinator));
      }
      AggregateOutput out = SecureAggregationTest.aggregate(SecureAggregatorGrpc.newStub(stack.enclave().channel()),
          SecureAggregationTest.header(task), updates.toArray(new SealedUpdate[0]));
      assertThat(out.getPublished()).isTrue();
      // the evaluator (a consortium member) opens its copy: the weights the enclave must serve
      SealedModelCopy copy = out.getCopiesList().stream().filter(c -> c.getMemberId().equals("evaluator")).findFirst()
          .orElseThrow();
      byte[] aad = ModelCopyAad.newBuilder().setStudyId(STUDY).setVersion(copy.getVersion()).setMemberId("evaluator")
          .setModelName("logreg").setDimension(DIM).build().toByteArray();
      byte[] contentKey = new Hpke().open(setup.memberKeys().get("evaluator"),
          copy.getPayload().toByteArray(), ModelVault.COPY_INFO, aad);
      published = org.cloister.site.sealing.SealedModelOpener.decrypt(out.getModel(), contentKey, DIM);
      assertThat(out.getModel().getVersion()).isEqualTo(2);
      return out.getModel();
    } finally {
      coordinator.shutdownNow();
      relay.shutdownNow();
    }
  }

  @AfterAll
  static void stop() {
    if (clientChannel != null) {
      clientChannel.shutdownNow();
    }
    if (deployment != null) {
      deployment.close();
    }
  }

  static InferenceClient client(Map<Integer, byte[]> pcrs) {
    return new InferenceClient(clientChannel, verifier, pcrs, Clock.systemUTC(), new SecureRandom());
  }

  static double[][] rows(int n, long seed) {
    Random r = new Random(seed);
    double[][] x = new double[n][FEATURES];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < FEATURES; j++) {
        x[i][j] = QUERY_BASE + i * 0.125 + j * 0.0625 + r.nextInt(1000) * 1e-4;
      }
      queried.add(x[i]);
    }
    return x;
  }

  static float[][] direct(double[][] x) {
    MultiLayerNetwork net = ModelZoo.newNetwork(ModelZoo.logisticRegression(), FEATURES, CLASSES, 0, null, DataType.FLOAT);
    Parameters.set(net, published);
    float[] flat = new float[x.length * FEATURES];
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < FEATURES; j++) {
        flat[i * FEATURES + j] = (float) ((x[i][j] - QUERY_BASE) / 10); // keep the logistic away from saturation
      }
    }
    org.nd4j.linalg.api.ndarray.INDArray o = net.output(Nd4j.create(flat, new long[] {x.length, FEATURES}, 'c'), false);
    float[] p = o.dup('c').reshape(o.length()).toFloatVector();
    float[][] out = new float[x.length][CLASSES];
    for (int i = 0; i < x.length; i++) {
      System.arraycopy(p, i * CLASSES, out[i], 0, CLASSES);
    }
    return out;
  }

  /** The rows as sent: scaled like {@link #direct} so the probabilities are not all 0 or 1. */
  static double[][] scaled(double[][] x) {
    double[][] s = new double[x.length][];
    for (int i = 0; i < x.length; i++) {
      s[i] = new double[FEATURES];
      for (int j = 0; j < FEATURES; j++) {
        s[i][j] = (float) ((x[i][j] - QUERY_BASE) / 10);
      }
    }
    return s;
  }

  @Test
  @Order(1)
  void thePublishedModelIsServedAndPredictionsMatchDl4jOnTheSameWeights() throws Exception {
    InferenceClient c = client(provisioned.expectedPcrs());
    AttestationSummary a = c.attest();
    assertThat(a.modelVersion()).isEqualTo(2);
    assertThat(a.studyId()).isEqualTo(STUDY);
    assertThat(a.numFeatures()).isEqualTo(FEATURES);
    assertThat(a.moduleId()).isEqualTo("cloister-inference-enclave");

    double[][] single = rows(1, 1);
    Prediction p = c.predict(scaled(single));
    assertThat(p.modelVersion()).isEqualTo(2);
    float[][] expected = direct(single);
    assertThat(p.probabilities()[0][0]).isCloseTo(expected[0][0], org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(p.probabilities()[0][1]).isCloseTo(expected[0][1], org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(expected[0][0]).isBetween(0.001f, 0.999f); // a prediction that can tell weights apart

    double[][] batch = rows(300, 2);
    Prediction b = c.predict(scaled(batch));
    float[][] e = direct(batch);
    for (int i = 0; i < batch.length; i++) {
      for (int k = 0; k < CLASSES; k++) {
        assertThat(Math.abs(b.probabilities()[i][k] - e[i][k])).as("row %d class %d", i, k).isLessThanOrEqualTo(1e-6f);
      }
    }
  }

  @Test
  @Order(2)
  void badInputGetsAClearErrorAndTheServerKeepsServing() throws Exception {
    InferenceClient c = client(provisioned.expectedPcrs());
    c.attest();
    assertThatThrownBy(() -> c.predict(new double[][] {new double[FEATURES - 1]}))
        .isInstanceOfSatisfying(InferenceException.class, e -> assertThat(e.inputError()).isTrue())
        .hasMessage("each row must have 30 features, the query has 29");
    double[][] nan = scaled(rows(2, 3));
    nan[1][4] = Double.NaN;
    assertThatThrownBy(() -> c.predict(nan))
        .isInstanceOfSatisfying(InferenceException.class, e -> assertThat(e.inputError()).isTrue())
        .hasMessage("row 2, feature 5 is NaN (every feature must be a finite number)");
    assertThatThrownBy(() -> FeatureRows.parse("1.0,2.0\n3.0,abc\n", false))
        .hasMessage("line 2, column 2: not a number (every feature must be numeric)");
    assertThat(FeatureRows.parse("a,b\n1,2\n", true)).hasDimensions(1, 2);
    // still serving
    assertThat(c.predict(scaled(rows(1, 4))).probabilities()[0]).hasSize(CLASSES);
  }

  @Test
  @Order(2)
  void theModelCardTravelsInTheAttestedPolicyAndRawRowsAreCheckedAndTransformedAsInTraining() throws Exception {
    InferenceClient c = client(provisioned.expectedPcrs());
    AttestationSummary a = c.attest();
    assertThat(a.modelCard()).isEqualTo(CARD);
    assertThat(a.modelCard().classNames()).containsExactly("benign", "malignant");
    // a raw WDBC patient: the client applies the study's public rules, exactly what the sites trained on
    org.cloister.data.Dataset wdbc = org.cloister.data.BuiltinDatasets.wdbc();
    double[][] raw = {wdbc.features()[0], wdbc.features()[1]};
    double[][] trained = org.cloister.data.BuiltinDatasets.wdbcPreprocessing().resolvePublic().apply(wdbc.subset(new int[] {0, 1}))
        .features();
    Prediction viaCard = c.predictRaw(raw, false);
    Prediction direct = c.predict(trained);
    assertThat(viaCard.probabilities()[0]).containsExactly(direct.probabilities()[0]);
    assertThat(viaCard.probabilities()[1]).containsExactly(direct.probabilities()[1]);

    long before = Files.readAllLines(root.resolve("inference-audit.jsonl")).size();
    assertThatThrownBy(() -> c.predictRaw(new double[][] {java.util.Arrays.copyOf(raw[0], 29)}, false))
        .isInstanceOfSatisfying(InferenceException.class, e -> assertThat(e.inputError()).isTrue())
        .hasMessageStartingWith("row 1: the model expects 30 features (radius_mean .. fractal_dimension_worst), the data has 29");
    double[] microns = raw[0].clone();
    microns[2] *= 1000; // perimeter in micrometres
    assertThatThrownBy(() -> c.predictRaw(new double[][] {raw[1], microns}, false))
        .isInstanceOfSatisfying(InferenceException.class, e -> assertThat(e.inputError()).isTrue())
        .hasMessageStartingWith("row 2, column 3 ('perimeter_mean'): ").hasMessageContaining("outside the study's declared range");
    // refused on the client: nothing reached the enclave
    assertThat(Files.readAllLines(root.resolve("inference-audit.jsonl"))).hasSize((int) before);
    // clamped on request, as training clamped
    assertThat(c.predictRaw(new double[][] {microns}, true).probabilities()[0]).hasSize(CLASSES);
  }

  @Test
  @Order(2)
  void aHostThatAltersTheModelCardIsCaught() throws Exception {
    // relaying another card than the enclave's: its digest is not the one the signed evidence binds
    byte[] altered = new String(CARD.toJson(), StandardCharsets.UTF_8).replace("\"malignant\"", "\"benign tumour\"")
        .getBytes(StandardCharsets.UTF_8);
    ManagedChannel upstream = clientChannel;
    Server evil = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new org.cloister.protocol.v1.InferenceGrpc.InferenceImplBase() {
          @Override
          public void attest(org.cloister.protocol.v1.InferenceAttestationRequest req,
                             io.grpc.stub.StreamObserver<org.cloister.protocol.v1.InferenceAttestation> out) {
            out.onNext(org.cloister.protocol.v1.InferenceGrpc.newBlockingStub(upstream).attest(req).toBuilder()
                .setModelCard(ByteString.copyFrom(altered)).build());
            out.onCompleted();
          }
        }).build().start();
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", evil.getPort()).usePlaintext().build();
    try {
      InferenceClient c = new InferenceClient(ch, verifier, provisioned.expectedPcrs(), Clock.systemUTC(), new SecureRandom());
      assertThatThrownBy(c::attest).isInstanceOfSatisfying(AttestationException.class,
          e -> assertThat(e.reason()).isEqualTo(FailureReason.MALFORMED)).hasMessageContaining("altered in transit");
    } finally {
      ch.shutdownNow();
      evil.shutdownNow();
    }
    // provisioning the enclave with another card changes its measured policy, hence PCR2: clients pinning the
    // consortium's PCRs refuse that enclave (aClientThatExpectsOtherPcrsRefusesToSendItsQuery)
    org.cloister.data.ModelCard other = org.cloister.data.ModelCard.parse(altered, "test");
    assertThat(InferencePolicy.of("logreg", other).toJson()).isNotEqualTo(InferencePolicy.of("logreg", CARD).toJson());
    assertThat(org.cloister.trust.attestation.nitro.SimulatedPcrs.measure(InferencePolicy.of("logreg", other).toJson()))
        .isNotEqualTo(provisioned.expectedPcrs().get(2));
    assertThat(org.cloister.trust.attestation.nitro.SimulatedPcrs.measure(Files.readAllBytes(provisioned.policy())))
        .isEqualTo(provisioned.expectedPcrs().get(2));
  }

  @Test
  @Order(3)
  void aClientThatExpectsOtherPcrsRefusesToSendItsQuery() throws Exception {
    long before = Files.readAllLines(root.resolve("inference-audit.jsonl")).size();
    Map<Integer, byte[]> other = new HashMap<>(provisioned.expectedPcrs());
    byte[] pcr0 = other.get(0).clone();
    pcr0[0] ^= 1;
    other.put(0, pcr0);
    InferenceClient c = client(other);
    assertThatThrownBy(c::attest).isInstanceOfSatisfying(AttestationException.class,
        e -> assertThat(e.reason()).isEqualTo(FailureReason.PCR_MISMATCH));
    assertThatThrownBy(() -> c.predict(scaled(rows(1, 5)))).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no query is sent");
    // the aggregator's PCRs do not serve as the inference enclave's either
    assertThat(Files.readAllLines(root.resolve("inference-audit.jsonl"))).hasSize((int) before);
  }

  @Test
  @Order(4)
  void aModifiedInferenceImageCannotObtainTheModelKey() throws Exception {
    Path image = InferenceDeployment.locateImage();
    assumeThat(image).as("the inference image is built in the package phase (run install or verify)").isNotNull();
    // the same image with one entry added to its jar
    Path modified = Files.createDirectories(root.resolve("modified-image"));
    Path jar = InferenceDeployment.imageClasspath(image).get(0);
    SecureAggregationTest.copyWithExtraEntry(jar, modified.resolve(jar.getFileName()), "org/cloister/inference/patch.txt",
        "one changed byte is enough");
    List<Path> cp = new ArrayList<>(InferenceDeployment.imageClasspath(image));
    cp.set(0, modified.resolve(jar.getFileName()));
    assertThatThrownBy(() -> InferenceDeployment.serve(consortium, provisioned,
        InferenceDeployment.artifact(consortium, STUDY, 2), root.resolve("modified-audit.jsonl"),
        new InetSocketAddress("127.0.0.1", deployment.broker().port()), cp, new InetSocketAddress("127.0.0.1", 0),
        InsecureServerCredentials.create(), new DevelopmentHeaderIdentityResolver()))
        .isInstanceOf(JavaProcess.StartException.class)
        .hasMessageContaining("key broker refused Decrypt")
        .hasMessageContaining("PCR_MISMATCH");
    String audit = Files.readString(root.resolve("key-broker-audit.jsonl"));
    assertThat(audit).contains("\"role\":\"inference\"").contains("\"reason\":\"PCR_MISMATCH\"");
  }

  @Test
  @Order(5)
  void nothingWrittenByTheHostOrTheEnclaveContainsAQueryOrPredictionValue() throws Exception {
    assertThat(queried).isNotEmpty();
    List<byte[]> needles = new ArrayList<>();
    for (double[] row : queried) {
      for (double v : row) {
        double sent = (float) ((v - QUERY_BASE) / 10);
        for (double x : new double[] {v, sent}) {
          needles.add(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(x).array());
          needles.add(ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putDouble(x).array());
          needles.add(Double.toString(x).getBytes(StandardCharsets.US_ASCII));
        }
        needles.add(String.format("%.4f", v).getBytes(StandardCharsets.US_ASCII));
      }
    }
    List<Path> written = new ArrayList<>();
    try (Stream<Path> s = Files.walk(root)) {
      s.filter(Files::isRegularFile).filter(p -> !p.toString().endsWith(".jar")).forEach(written::add);
    }
    Path testLog = Path.of("target", "test-logs.txt");
    if (Files.exists(testLog)) {
      written.add(testLog); // this JVM's log, with the enclave's and the broker's forwarded output
    }
    assertThat(written).anyMatch(p -> p.getFileName().toString().equals("inference-audit.jsonl"));
    for (Path f : written) {
      byte[] content = Files.readAllBytes(f);
      for (byte[] n : needles) {
        assertThat(indexOf(content, n)).as("%s contains a query value", f).isEqualTo(-1);
      }
    }
    String audit = Files.readString(root.resolve("inference-audit.jsonl"));
    assertThat(audit).contains("\"client_id\":\"clinician-7\"").contains("\"outcome\":\"ok\"")
        .contains("\"outcome\":\"input_error\"").contains("\"model_version\":2");
  }

  @Test
  @Order(6)
  void disablingTheModelKeyStopsNewEnclavesAndARunningOneDropsTheModel() throws Exception {
    EnclaveConfig cfg = EnclaveConfig.parse(Files.readAllBytes(consortium.resolve("enclave-config.json")));
    X509Certificate ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
        new ByteArrayInputStream(cfg.keyBroker().caCertificatePem().getBytes(StandardCharsets.US_ASCII)));
    ManagedChannel admin = NettyChannelBuilder.forAddress("127.0.0.1", deployment.broker().port())
        .sslContext(GrpcSslContexts.forClient().trustManager(ca).build()).overrideAuthority(cfg.keyBroker().serverName())
        .build();
    try {
      Metadata h = new Metadata();
      h.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer "
          + Files.readString(consortium.resolve("key-broker").resolve("admin.token")).strip());
      KeyBrokerAdminGrpc.newBlockingStub(admin).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h))
          .disableKey(KeyRequest.newBuilder().setKeyId(cfg.keyBroker().keyId()).build());
    } finally {
      admin.shutdownNow();
    }
    assertThatThrownBy(() -> InferenceDeployment.serve(consortium, provisioned,
        InferenceDeployment.artifact(consortium, STUDY, 2), root.resolve("revoked-audit.jsonl"),
        new InetSocketAddress("127.0.0.1", deployment.broker().port()), null, new InetSocketAddress("127.0.0.1", 0),
        InsecureServerCredentials.create(), new DevelopmentHeaderIdentityResolver()))
        .isInstanceOf(JavaProcess.StartException.class)
        .hasMessageContaining("is disabled");

    InferenceClient c = client(provisioned.expectedPcrs());
    c.attest();
    assertThat(c.predict(scaled(rows(1, 6))).probabilities()[0]).hasSize(CLASSES); // still loaded until told
    assertThat(deployment.enclave().dropModel("model key disabled at the broker")).isTrue();
    assertThatThrownBy(() -> c.predict(scaled(rows(1, 7))))
        .isInstanceOfSatisfying(InferenceException.class, e -> assertThat(e.inputError()).isFalse())
        .hasMessageContaining("FAILED_PRECONDITION").hasMessageContaining("dropped");
    assertThat(Files.readString(root.resolve("inference-audit.jsonl"))).contains("\"event\":\"model_dropped\"")
        .contains("\"outcome\":\"no_model\"");
  }

  static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
