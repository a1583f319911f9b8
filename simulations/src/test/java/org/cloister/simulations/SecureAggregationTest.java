package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.cloister.coordinator.enclave.JavaProcess;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.service.CoordinatorServer;
import org.cloister.coordinator.service.DevelopmentHeaderIdentityResolver;
import org.cloister.coordinator.strategy.FedAvgStrategy;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.ImageMeasurement;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.Headers;
import org.cloister.protocol.v1.AggregateInput;
import org.cloister.protocol.v1.AggregateOutput;
import org.cloister.protocol.v1.AttestationRelayGrpc;
import org.cloister.protocol.v1.AttestationRequest;
import org.cloister.protocol.v1.AttestationResponse;
import org.cloister.protocol.v1.FederationGrpc;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundHeader;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SealedUpdate;
import org.cloister.protocol.v1.SecureAggregatorGrpc;
import org.cloister.protocol.v1.StudyStatus;
import org.cloister.protocol.v1.StudyStatusRequest;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.agent.SiteAgent;
import org.cloister.site.agent.SiteRoundRecord;
import org.cloister.site.agent.UpdateSealer;
import org.cloister.site.sealing.AttestedHpkeSealer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secure aggregation end to end with real processes (key broker, enclave) and real crypto: a study
 * of six sites whose updates are known random values (three valid, one NaN, one of the wrong
 * dimension, one with an excessive norm), then the untrusted host misbehaving on purpose.
 */
class SecureAggregationTest {
  static final String STUDY = "secure-test";
  static final int DIM = 1000;
  static final List<String> SITES = List.of("site-1", "site-2", "site-3", "site-4", "site-5", "site-6");

  @TempDir
  static Path work;
  static org.cloister.coordinator.store.JdbcStudyStore coordinatorDb;
  static SecureAggregationStack stack;
  static CoordinatorServer server;
  static RoundEngine engine;
  static final List<ManagedChannel> channels = Collections.synchronizedList(new ArrayList<>());
  /** Every plaintext update any site produced (to scan for). */
  static final List<float[]> plaintextUpdates = Collections.synchronizedList(new ArrayList<>());
  static final Map<String, List<SiteRoundRecord>> siteRecords = new HashMap<>();

  /** A site whose "training" returns known random values; some sites misbehave. */
  record KnownTrainer(String site, long examples) implements LocalTrainer {
    @Override
    public long numExamples() {
      return examples;
    }

    @Override
    public LocalUpdate train(float[] global, RoundTask task) {
      Random r = new Random(site.hashCode() * 31L + task.getRound());
      int dim = site.equals("site-5") ? DIM + 7 : DIM;
      float[] d = new float[dim];
      for (int i = 0; i < dim; i++) {
        d[i] = (float) (r.nextGaussian() * (site.equals("site-6") ? 1.0 : 0.001));
      }
      if (site.equals("site-4")) {
        d[123] = Float.NaN;
      }
      plaintextUpdates.add(d.clone());
      return LocalUpdate.nonPrivate(d, examples, Map.of("train_loss", 0.5));
    }
  }

  static ManagedChannel channel(int port, String identity) {
    Metadata h = new Metadata();
    h.put(Headers.DEV_SITE_ID, identity);
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
        .maxInboundMessageSize(64 << 20).intercept(MetadataUtils.newAttachHeadersInterceptor(h)).build();
    channels.add(ch);
    return ch;
  }

  @BeforeAll
  static void runStudy() throws Exception {
    List<String> members = new ArrayList<>(SITES);
    members.add("evaluator");
    AggregationPolicy policy = new AggregationPolicy(AggregationPolicy.FORMAT, STUDY, "toy", DIM, 5.0, 2, 2, null,
        AggregationPolicy.FEDAVG);
    SecureAggregationStack.Setup setup = SecureAggregationStack.prepare(work, policy, members,
        java.util.Set.of("evaluator"), null, SecureAggregationStack.locateImage(), null);
    stack = SecureAggregationStack.launch(setup, null, false);

    float[] w0 = new float[DIM];
    byte[] p0 = FloatCodec.encode(w0);
    ModelArtifact m0 = ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(1).setModelName("toy").setDimension(DIM)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(p0))
        .setSha256(ByteString.copyFrom(FloatCodec.sha256(p0))).build();
    StudyConfig cfg = new StudyConfig(STUDY, "toy", DIM, 2, 2, 0, Duration.ofSeconds(60), Duration.ofSeconds(60), 2,
        TrainingConfig.newBuilder().setLocalEpochs(1).build(), StudyConfig.defaultMaxUpdateBytes(DIM), SITES.size(),
        Duration.ofSeconds(10), false);
    // the coordinator's database lives in the directory scanned for plaintext below
    Files.createDirectories(stack.storeDirectory());
    coordinatorDb = new JdbcStudyStore("jdbc:sqlite:" + stack.storeDirectory().resolve("coordinator.db"));
    engine = new RoundEngine(cfg, m0, new FedAvgStrategy(), stack.aggregator(), coordinatorDb, Clock.systemUTC(), 1);
    server = new CoordinatorServer(new InetSocketAddress("127.0.0.1", 0), io.grpc.InsecureServerCredentials.create(), engine,
        new DevelopmentHeaderIdentityResolver(), (rpc, reason) -> { }, stack::registerServices).start();
    ExecutorService pool = Executors.newFixedThreadPool(SITES.size());
    List<Future<List<SiteRoundRecord>>> futures = new ArrayList<>();
    for (int i = 0; i < SITES.size(); i++) {
      String site = SITES.get(i);
      ManagedChannel ch = channel(server.port(), site);
      org.cloister.trust.pki.IssuedCertificate cert = setup.issue(site);
      futures.add(pool.submit(new SiteAgent(ch, STUDY, new KnownTrainer(site, 10L + i), stack.sealer(site, ch),
          new org.cloister.site.ledger.SpendSigner(site, cert.privateKey(), cert.certificate(), 1e-5, "ds-test"),
          new org.cloister.site.ledger.SiteLedger("jdbc:sqlite::memory:"),
          new SiteAgent.Options(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(30)))));
    }
    assertThat(engine.awaitEnd(Duration.ofMinutes(3))).isTrue();
    for (int i = 0; i < SITES.size(); i++) {
      siteRecords.put(SITES.get(i), futures.get(i).get(60, TimeUnit.SECONDS));
    }
    pool.shutdownNow();
  }

  @AfterAll
  static void stop() throws Exception {
    channels.forEach(ManagedChannel::shutdownNow);
    if (server != null) {
      server.close();
    }
    if (stack != null) {
      stack.close();
    }
    if (coordinatorDb != null) {
      coordinatorDb.close();
    }
  }

  @Test
  void invalidUpdatesAreRejectedWithReasonsAndTheRoundGoesOnWithTheOthers() {
    assertThat(engine.status().label()).isEqualTo("finished");
    List<RoundResult> history = engine.history();
    assertThat(history).hasSize(2).allSatisfy(r -> {
      assertThat(r.quorumMet()).isTrue();
      assertThat(r.aggregated()).containsExactly("site-1", "site-2", "site-3");
      assertThat(r.rejected().get("site-4")).isEqualTo("not_finite: the update contains NaN or infinite values");
      assertThat(r.rejected().get("site-5")).isEqualTo("wrong_dimension: update has 1007 parameters, expected 1000");
      assertThat(r.rejected().get("site-6")).startsWith("norm_exceeded: the update's L2 norm exceeds the policy bound");
    });
    assertThat(engine.model(0).orElseThrow().getVersion()).isEqualTo(3);
    assertThat(engine.model(0).orElseThrow().getFormat()).isEqualTo("cloister-kms-aes256gcm-v2");

    // the sites are told why, through the study status
    ManagedChannel ch = channel(server.port(), "site-4");
    StudyStatus status = FederationGrpc.newBlockingStub(ch).getStudyStatus(StudyStatusRequest.newBuilder()
        .setStudyId(STUDY).build());
    assertThat(status.getRounds(0).getRejectedList()).contains("site-4: not_finite: the update contains NaN or infinite values");

    // the published model is the example-weighted mean of the valid updates only, as each member opens it
    float[] expected = new float[DIM];
    double total = 10 + 11 + 12;
    for (int round = 1; round <= 2; round++) {
      for (int i = 0; i < 3; i++) {
        float[] d = new KnownTrainerValues(SITES.get(i), round).values();
        for (int k = 0; k < DIM; k++) {
          expected[k] += (float) ((10 + i) / total * d[k]);
        }
      }
    }
    float[] opened = stack.open("evaluator", engine.model(0).orElseThrow(), channel(server.port(), "evaluator"));
    for (int k = 0; k < DIM; k++) {
      assertThat(opened[k]).isCloseTo(expected[k], org.assertj.core.data.Offset.offset(1e-6f));
    }
    assertThat(stack.open("site-1", engine.model(0).orElseThrow(), channel(server.port(), "site-1"))).containsExactly(opened);
    // a member's copy does not open with another member's identity
    assertThatThrownBy(() -> new org.cloister.site.sealing.SealedModelOpener(channel(server.port(), "site-2"), "site-2",
        stack.setup().memberKeys().get("site-3")).open(engine.model(0).orElseThrow(), DIM))
        .hasMessageContaining("does not open for member site-2");
  }

  /** The values {@link KnownTrainer} produced for a site and round. */
  record KnownTrainerValues(String site, int round) {
    float[] values() {
      Random r = new Random(site.hashCode() * 31L + round);
      float[] d = new float[DIM];
      for (int i = 0; i < DIM; i++) {
        d[i] = (float) (r.nextGaussian() * 0.001);
      }
      return d;
    }
  }

  @Test
  void nothingTheCoordinatorStoresOrLogsContainsAPlaintextUpdateOrModelValue() throws Exception {
    assertThat(plaintextUpdates).hasSizeGreaterThanOrEqualTo(12);
    List<byte[]> secrets = new ArrayList<>();
    for (float[] u : plaintextUpdates) {
      secrets.add(FloatCodec.encode(u));
    }
    // the global models after the first (the initial one is public) are secret too
    float[] v3 = stack.open("evaluator", engine.model(3).orElseThrow(), channel(server.port(), "evaluator"));
    secrets.add(FloatCodec.encode(v3));

    List<byte[]> haystacks = new ArrayList<>();
    for (long v = 2; v <= 3; v++) {
      haystacks.add(engine.model(v).orElseThrow().toByteArray());
    }
    List<Path> stored;
    try (Stream<Path> s = Files.walk(stack.storeDirectory())) {
      stored = s.filter(Files::isRegularFile).toList();
    }
    assertThat(stored).anyMatch(p -> p.toString().endsWith("model.bin")).anyMatch(p -> p.toString().endsWith("site-1.sealed"));
    for (Path p : stored) {
      haystacks.add(Files.readAllBytes(p));
    }
    Path log = Path.of("target", "test-logs.txt");
    String logText = Files.exists(log) ? Files.readString(log, StandardCharsets.ISO_8859_1) : "";
    assertThat(logText).as("surefire writes the test log to target/test-logs.txt (see the simulations pom)")
        .contains("round 2: enclave published version 3"); // the coordinator's and the enclave's log lines
    haystacks.add(logText.getBytes(StandardCharsets.ISO_8859_1));

    for (byte[] secret : secrets) {
      for (byte[] hay : haystacks) {
        assertThat(containsAnyWindow(hay, secret, 8)).as("an 8-byte run of plaintext found in what the coordinator keeps")
            .isFalse();
      }
      // and no decimal rendering of the first values either
      float[] values = FloatCodec.decode(secret, -1);
      for (int i = 0; i < 5; i++) {
        if (Float.isFinite(values[i]) && values[i] != 0f) {
          assertThat(logText).doesNotContain(Float.toString(values[i])).doesNotContain(Double.toString(values[i]));
        }
      }
    }
  }

  static boolean containsAnyWindow(byte[] hay, byte[] secret, int w) {
    Map<Long, Boolean> windows = new HashMap<>();
    for (int i = 0; i + w <= secret.length; i += 4) {
      windows.put(key(secret, i, w), Boolean.TRUE);
    }
    for (int i = 0; i + w <= hay.length; i++) {
      if (windows.containsKey(key(hay, i, w))) {
        return true;
      }
    }
    return false;
  }

  private static long key(byte[] b, int off, int w) {
    long k = 0;
    for (int i = 0; i < w; i++) {
      k = (k << 8) | (b[off + i] & 0xff);
    }
    return k;
  }

  @Test
  void theEnclaveRejectsReplayedUpdatesAndRoundsAndAStaleBaseModel() throws Exception {
    SecureAggregatorGrpc.SecureAggregatorStub host = SecureAggregatorGrpc.newStub(stack.enclave().channel());
    ModelArtifact latest = engine.model(0).orElseThrow();
    RoundTask task = RoundTask.newBuilder().setStudyId(STUDY).setRound(3).setRoundId("replay-test-1").setModel(latest).build();
    SealedUpdate u = signedUpdate("site-1", 10, task, new KnownTrainerValues("site-1", 3).values());
    SealedUpdate u2 = signedUpdate("site-2", 11, task, new KnownTrainerValues("site-2", 3).values());

    // the same update twice in one round: the second is a replay
    AggregateOutput out = aggregate(host, header(task), u, u, u2);
    assertThat(out.getPublished()).isTrue();
    assertThat(out.getAggregatedList()).containsExactly("site-1", "site-2");
    assertThat(out.getRejectedMap().get("site-1")).startsWith("replayed:");

    // the whole round again (same round id): refused, its challenge is spent
    assertThatThrownBy(() -> aggregate(host, header(task), u, u2)).hasMessageContaining("already aggregated");
    // the update replayed into another round: its statement carries the old round and challenge
    RoundTask next = task.toBuilder().setRound(4).setRoundId("replay-test-2").setModel(out.getModel()).build();
    openRound(next);
    AggregateOutput other = aggregate(host, header(next), u.toBuilder().setBaseModelVersion(out.getModel().getVersion()).build());
    assertThat(other.getPublished()).isFalse();
    assertThat(other.getRejectedMap().get("site-1")).startsWith("wrong_round:");
    // rolling the model back to an older version: refused
    RoundTask back = task.toBuilder().setRoundId("replay-test-3").build();
    openRound(back);
    assertThatThrownBy(() -> aggregate(host, header(back))).hasMessageContaining("refusing a rollback");
  }

  static SealedUpdate signedUpdate(String site, long examples, RoundTask task, float[] values) {
    return SiteUpdates.signed(stack, stack.setup().issue(site), site, examples, task, values,
        channel(server.port(), site));
  }

  /** Opens a round in the enclave, as a site's first challenge request does. */
  static void openRound(RoundTask t) {
    SecureAggregatorGrpc.newBlockingStub(stack.enclave().channel()).getRoundChallenge(
        org.cloister.protocol.v1.RoundChallengeRequest.newBuilder().setStudyId(t.getStudyId()).setRound(t.getRound())
            .setRoundId(t.getRoundId()).setBaseModelVersion(t.getModel().getVersion())
            .setNonce(ByteString.copyFrom(new byte[16])).build());
  }

  static AggregateInput header(RoundTask t) {
    return AggregateInput.newBuilder().setHeader(RoundHeader.newBuilder().setStudyId(t.getStudyId()).setRound(t.getRound())
        .setRoundId(t.getRoundId()).setBaseModel(t.getModel())).build();
  }

  static AggregateOutput aggregate(SecureAggregatorGrpc.SecureAggregatorStub host, AggregateInput header,
                                   SealedUpdate... updates) throws Exception {
    CompletableFuture<AggregateOutput> f = new CompletableFuture<>();
    StreamObserver<AggregateInput> in = host.withDeadlineAfter(60, TimeUnit.SECONDS).aggregate(new StreamObserver<>() {
      @Override
      public void onNext(AggregateOutput v) {
        f.complete(v);
      }

      @Override
      public void onError(Throwable t) {
        f.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
      }
    });
    in.onNext(header);
    for (SealedUpdate u : updates) {
      in.onNext(AggregateInput.newBuilder().setUpdate(u).build());
    }
    in.onCompleted();
    try {
      return f.get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
    }
  }

  @Test
  void aSiteRefusesAReplayedAttestationDocument() {
    // the host answers every attestation request with a document it obtained earlier (old nonce)
    ManagedChannel honest = channel(server.port(), "site-1");
    AttestationResponse old = AttestationRelayGrpc.newBlockingStub(honest).getAttestation(AttestationRequest.newBuilder()
        .setStudyId(STUDY).setNonce(ByteString.copyFrom(new byte[32])).build());
    Channel replaying = io.grpc.ClientInterceptors.intercept(honest, new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> m, CallOptions o, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(m, o)) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
              @Override
              @SuppressWarnings("unchecked")
              public void onMessage(R message) {
                super.onMessage(message instanceof AttestationResponse ? (R) old : message);
              }
            }, headers);
          }
        };
      }
    });
    UpdateSealer sealer = stack.sealer("site-1", replaying);
    RoundTask task = RoundTask.newBuilder().setStudyId(STUDY).setRound(9).setRoundId("x")
        .setModel(engine.model(0).orElseThrow()).build();
    assertThatThrownBy(() -> sealer.seal(task, new float[DIM])).hasMessageContaining("NONCE_MISMATCH");
  }

  @Test
  void aModifiedEnclaveImageGetsOtherPcrsAndTheBrokerRefusesItAKey(@TempDir Path dir) throws Exception {
    Path image = SecureAggregationStack.locateImage();
    assumeTrue(image != null, "the enclave image jar is built in the package phase (run install or verify)");
    Path modified = dir.resolve("modified-enclave.jar");
    copyWithExtraEntry(image, modified, "org/cloister/enclave/patch.txt", "one changed byte is enough");
    AggregationPolicy policy = new AggregationPolicy(AggregationPolicy.FORMAT, "modified-test", "toy", 10, 5.0, 1, 2, null,
        AggregationPolicy.FEDAVG);
    SecureAggregationStack.Setup setup = SecureAggregationStack.prepare(dir.resolve("work"), policy,
        List.of("site-1", "site-2"), image, null);
    assertThat(ImageMeasurement.measure(modified)).isNotEqualTo(setup.expectedPcrs().get(0));

    assertThatThrownBy(() -> SecureAggregationStack.launch(setup, List.of(modified), false))
        .isInstanceOf(JavaProcess.StartException.class)
        .hasMessageContaining("key broker refused GenerateDataKey")
        .hasMessageContaining("PCR_MISMATCH");
    String audit = Files.readString(setup.auditLog());
    assertThat(audit).contains("\"event\":\"refusal\"").contains("\"reason\":\"PCR_MISMATCH\"");
    // the unmodified image with the same setup is admitted
    try (SecureAggregationStack ok = SecureAggregationStack.launch(setup, null, false)) {
      assertThat(ok.enclave().isAlive()).isTrue();
    }
    assertThat(Files.readString(setup.auditLog())).contains("\"event\":\"release\"");
  }

  static void copyWithExtraEntry(Path jar, Path out, String name, String content) throws IOException {
    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(jar));
         ZipOutputStream zout = new ZipOutputStream(Files.newOutputStream(out))) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        zout.putNextEntry(new ZipEntry(e.getName()));
        in.transferTo(zout);
        zout.closeEntry();
      }
      zout.putNextEntry(new ZipEntry(name));
      zout.write(content.getBytes(StandardCharsets.UTF_8));
      zout.closeEntry();
    }
  }

}
