package org.cloister.simulations.bench;

import org.cloister.observability.Percentiles;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.cloister.coordinator.aggregation.AggregationResult;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.ledger.LedgerRecord;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.rounds.RoundListener;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.service.CertificateIdentityResolver;
import org.cloister.coordinator.service.CoordinatorServer;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.coordinator.store.StudyStore;
import org.cloister.coordinator.study.StudyAssembly;
import java.util.concurrent.atomic.AtomicReference;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.simulations.AggregationStack;
import org.cloister.simulations.ConsortiumCredentials;
import org.cloister.simulations.SecureAggregationStack;
import org.cloister.simulations.SimulationConfig;
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.agent.SiteAgent;
import org.cloister.site.agent.UpdateSealer;
import org.cloister.site.ledger.SiteLedger;
import org.cloister.site.ledger.SpendSigner;
import org.cloister.trust.pki.IssuedCertificate;

/**
 * Coordinator overhead per round: a study of N in-process site agents (one thread each) over mTLS
 * gRPC on loopback, the real round engine, SQLite store, signed privacy ledger and aggregation
 * stack, with local training replaced by a trainer that returns a precomputed random delta at
 * once. What remains is everything but training: task delivery, opening the global model,
 * sealing, spend signing, transfer, aggregation and persistence. The same study runs with the
 * secure stack (enclave + key broker processes, HPKE-sealed updates) and with the plaintext
 * baseline, in the same run.
 */
public final class RoundBenchmark {

  /** Which aggregation stack a run uses. */
  public enum Mode { SECURE, PLAINTEXT }

  /**
   * @param sites   N site agents
   * @param params  P float32 parameters
   * @param rounds  measured rounds R
   * @param warmup  warm-up rounds (not measured), at least 1
   */
  public record Options(int sites, int params, int rounds, int warmup, long seed) {
    public Options {
      if (sites < 1) {
        throw new IllegalArgumentException("sites must be >= 1, got " + sites);
      }
      if (params < 1 || (long) params * Float.BYTES > Integer.MAX_VALUE - (1 << 20)) {
        throw new IllegalArgumentException("params out of range: " + params);
      }
      if (rounds < 1) {
        throw new IllegalArgumentException("rounds must be >= 1, got " + rounds);
      }
      if (warmup < 1) {
        throw new IllegalArgumentException("warmup must be >= 1, got " + warmup);
      }
    }
  }

  /** Per-round timings of one measured round, in milliseconds. */
  public record RoundTiming(int round, double roundMs, double openToCloseMs, double aggregateMs, double persistMs,
                            double maxSealMs, double maxOpenModelMs, double maxReadyMs, int aggregated,
                            double afterLastUpdateMs) {
  }

  /**
   * CPU time per measured round (milliseconds): this JVM (sites, coordinator, store) and its child
   * processes (for the secure stack: the enclave and the key broker). On a shared machine CPU time
   * moves less with the load than wall-clock time does.
   */
  public record CpuPerRound(double benchJvmMs, double childrenMs, double childrenJitMs) {
    public double totalMs() {
      return benchJvmMs + childrenMs;
    }
  }

  /** One mode's result. */
  public record ModeResult(Mode mode, List<RoundTiming> rounds, long setupMillis, CpuPerRound cpu,
                           Map<String, Map<String, Double>> cpuByThread) {
    public ModeResult {
      rounds = List.copyOf(rounds);
      cpuByThread = cpuByThread == null ? Map.of() : cpuByThread;
    }

    public ModeResult(Mode mode, List<RoundTiming> rounds, long setupMillis, CpuPerRound cpu) {
      this(mode, rounds, setupMillis, cpu, Map.of());
    }

    public Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("mode", mode.name().toLowerCase(java.util.Locale.ROOT));
      m.put("setup_ms", setupMillis);
      m.put("round_ms", stats(rounds.stream().mapToDouble(RoundTiming::roundMs).toArray()));
      m.put("open_to_close_ms", stats(rounds.stream().mapToDouble(RoundTiming::openToCloseMs).toArray()));
      m.put("aggregate_ms", stats(rounds.stream().mapToDouble(RoundTiming::aggregateMs).toArray()));
      m.put("persist_ms", stats(rounds.stream().mapToDouble(RoundTiming::persistMs).toArray()));
      m.put("site_seal_max_ms", stats(rounds.stream().mapToDouble(RoundTiming::maxSealMs).toArray()));
      m.put("site_open_model_max_ms", stats(rounds.stream().mapToDouble(RoundTiming::maxOpenModelMs).toArray()));
      // from the round's opening to the last site holding the opened model (and, secure, a verified challenge):
      // task delivery, the challenge and opening the model, however they are split between poll and sealer
      m.put("site_ready_max_ms", stats(rounds.stream().mapToDouble(RoundTiming::maxReadyMs).toArray()));
      // from the coordinator accepting the round's last update to the round's commit: the aggregation's tail
      // (for the secure stack, what the enclave still has to do when the last update arrives) and the commit
      m.put("after_last_update_ms", stats(rounds.stream().mapToDouble(RoundTiming::afterLastUpdateMs).toArray()));
      List<Map<String, Object>> per = new ArrayList<>();
      for (RoundTiming t : rounds) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("round", t.round());
        r.put("round_ms", round1(t.roundMs()));
        r.put("open_to_close_ms", round1(t.openToCloseMs()));
        r.put("aggregate_ms", round1(t.aggregateMs()));
        r.put("persist_ms", round1(t.persistMs()));
        r.put("site_seal_max_ms", round1(t.maxSealMs()));
        r.put("site_open_model_max_ms", round1(t.maxOpenModelMs()));
        r.put("site_ready_max_ms", round1(t.maxReadyMs()));
        r.put("after_last_update_ms", round1(t.afterLastUpdateMs()));
        r.put("aggregated", t.aggregated());
        per.add(r);
      }
      if (cpu != null) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("bench_jvm", round1(cpu.benchJvmMs()));
        c.put("child_processes", round1(cpu.childrenMs()));
        // of which the child JVMs' JIT compiler threads (Linux; 0 elsewhere): a fresh enclave JVM still compiles
        // its data path during the first measured rounds, a one-time cost per enclave instance
        c.put("child_jit", round1(cpu.childrenJitMs()));
        c.put("total", round1(cpu.totalMs()));
        m.put("cpu_ms_per_round", c);
        if (!cpuByThread.isEmpty()) {
          // per process (bench JVM, enclave, broker), CPU ms per measured round by thread group (Linux /proc);
          // "store" is the thread CPU inside the study store's calls, also counted in its callers' groups
          m.put("cpu_ms_per_round_by_thread", cpuByThread);
        }
        // the CPU of the measured rounds over what the machine's cores offered in their wall-clock time: near 1,
        // the round is CPU-bound (only less CPU makes it shorter, not moving work off its critical path)
        double meanRound = rounds.stream().mapToDouble(RoundTiming::roundMs).average().orElse(Double.NaN);
        m.put("cpu_cores_busy_fraction", Math.round(cpu.totalMs() / (Runtime.getRuntime().availableProcessors()
            * meanRound) * 1000) / 1000.0);
      }
      m.put("rounds", per);
      return m;
    }

    public double medianRoundMs() {
      return percentile(rounds.stream().mapToDouble(RoundTiming::roundMs).toArray(), 50);
    }
  }

  private final Options opts;
  private final Consumer<String> progress;

  public RoundBenchmark(Options opts, Consumer<String> progress) {
    this.opts = opts;
    this.progress = progress;
  }

  /**
   * Runs the transport-only baseline, the plaintext stack and the secure stack, and reports all three
   * and their ratios.
   */
  public Map<String, Object> runBoth() throws Exception {
    progress.accept("transport: " + opts.sites() + " clients, " + opts.params() + " params, " + opts.rounds()
        + " rounds (" + opts.warmup() + " warm-up)");
    double[] transport = TransportBaseline.run(opts.sites(), opts.params(), opts.rounds(), opts.warmup(), opts.seed());
    ModeResult plain = run(Mode.PLAINTEXT);
    ModeResult secure = run(Mode.SECURE);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("benchmark", "round");
    m.put("sites", opts.sites());
    m.put("params", opts.params());
    m.put("update_mib", round1(opts.params() * (double) Float.BYTES / (1 << 20)));
    m.put("measured_rounds", opts.rounds());
    m.put("warmup_rounds", opts.warmup());
    m.put("available_processors", Runtime.getRuntime().availableProcessors());
    m.put("max_heap_mib", Runtime.getRuntime().maxMemory() >> 20);
    m.put("secure", secure.toMap());
    m.put("plaintext", plain.toMap());
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("mode", "transport");
    t.put("round_ms", stats(transport));
    m.put("transport", t);
    double transportMedian = percentile(transport, 50);
    m.put("plaintext_over_transport", Math.round(plain.medianRoundMs() / transportMedian * 1000) / 1000.0);
    double ratio = secure.medianRoundMs() / plain.medianRoundMs();
    m.put("ratio_secure_plaintext_median_round", Math.round(ratio * 1000) / 1000.0);
    if (secure.cpu() != null && plain.cpu() != null && plain.cpu().totalMs() > 0) {
      m.put("ratio_secure_plaintext_cpu_per_round", Math.round(secure.cpu().totalMs() / plain.cpu().totalMs() * 1000) / 1000.0);
    }
    m.put("target_ms", 300);
    m.put("target_met", secure.medianRoundMs() < 300);
    // issue 20: the secure round at most 1.25x the plaintext one; issue 17: plaintext at most 1.3x the wire
    m.put("target_ratio_secure_plaintext", 1.25);
    m.put("target_plaintext_over_transport", 1.3);
    return m;
  }

  /** Runs one study of warmup + rounds rounds with the given stack. */
  public ModeResult run(Mode mode) throws Exception {
    long setupStart = System.nanoTime();
    int n = opts.sites();
    int p = opts.params();
    int total = opts.warmup() + opts.rounds();
    String studyId = "bench-round-" + mode.name().toLowerCase(java.util.Locale.ROOT);
    ModelArtifact model0 = StudyAssembly.initialModel(studyId, "bench-dense", new float[p]);
    TrainingConfig training = TrainingConfig.newBuilder()
        .setLocalEpochs(1).setBatchSize(1).setLearningRate(0.1).setSeed(opts.seed()).build();
    // quorum = expected = N: a round closes as soon as all N sites submitted; generous deadline
    StudyConfig study = new StudyConfig(studyId, "bench-dense", p, total, n, 0, Duration.ofSeconds(300),
        Duration.ofSeconds(120), 1, training, StudyConfig.defaultMaxUpdateBytes(p), n, Duration.ofSeconds(30), true);
    Path work = Files.createTempDirectory("cloister-bench-round-");
    List<String> members = new ArrayList<>();
    for (int s = 0; s < n; s++) {
      members.add(siteId(s));
    }
    SimulationConfig simCfg = SimulationConfig.builder().studyId(studyId).sites(n).minSitesPerRound(n)
        .rounds(total).outDir(work).build();
    progress.accept(mode.name().toLowerCase(java.util.Locale.ROOT) + ": starting " + n + " sites, " + p + " params, "
        + total + " rounds (" + opts.warmup() + " warm-up)");

    ConsortiumCredentials pki = ConsortiumCredentials.ephemeral(studyId, Duration.ofDays(1));
    AggregationStack stack = mode == Mode.SECURE
        ? SecureAggregationStack.start(simCfg, model0, members, java.util.Set.of(), pki.ca())
        : AggregationStack.plaintext(p);
    TimedAggregator aggregator = new TimedAggregator(stack.aggregator());
    // the benchmark measures the round's cost: fedavg, no budget guard (its updates are not noised)
    AtomicReference<TimedStore> timedStore = new AtomicReference<>();
    StudyAssembly.AssembledStudy assembled = StudyAssembly.builder(study, model0)
        .database("jdbc:sqlite:" + work.resolve("coordinator.db"))
        .storeWrapper(inner -> {
          timedStore.set(new TimedStore(inner));
          return timedStore.get();
        })
        .strategy("fedavg").aggregator(aggregator).withoutBudgetEnforcement().seed(opts.seed()).build();
    TimedStore store = timedStore.get();
    RoundEngine engine = assembled.engine();
    Map<Integer, Long> completedAt = new ConcurrentHashMap<>();
    Map<Integer, RoundResult> results = new ConcurrentHashMap<>();
    Map<Integer, double[]> sealMs = new ConcurrentHashMap<>();
    Map<Integer, double[]> openMs = new ConcurrentHashMap<>();
    Map<Integer, Long> openedAt = new ConcurrentHashMap<>();
    Map<Integer, double[]> readyAt = new ConcurrentHashMap<>(); // nanoTime at which each site's model was open
    long[] cpuAtWarmup = new long[3];
    long[] cpuAtEnd = new long[3];
    List<Map<String, Map<String, Long>>> threadCpu = new ArrayList<>(List.of(Map.of(), Map.of()));
    engine.addListener(new RoundListener() {
      @Override
      public void roundOpened(RoundTask task, List<String> selected) {
        openedAt.putIfAbsent(task.getRound(), System.nanoTime());
      }

      @Override
      public void roundCompleted(RoundResult r) {
        completedAt.put(r.round(), System.nanoTime());
        results.put(r.round(), r);
        if (r.round() == opts.warmup()) {
          cpuNanos(cpuAtWarmup);
          threadCpu.set(0, threadCpuNanos(store));
        } else if (r.round() == total) {
          cpuNanos(cpuAtEnd);
          threadCpu.set(1, threadCpuNanos(store));
        }
      }
    });
    List<ManagedChannel> channels = new ArrayList<>();
    List<SiteLedger> ledgers = new ArrayList<>();
    java.util.concurrent.atomic.AtomicInteger siteThreads = new java.util.concurrent.atomic.AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(n, r -> new Thread(r, "bench-site-" + siteThreads.incrementAndGet()));
    // -Dcloister.bench.site-event-loop=true: the sites' channels get their own Netty event loop and executor, so
    // the by-thread CPU tells the sites' TLS from the coordinator's (off by default: the shared event loop is
    // what the figures in docs/benchmarks.md were measured with)
    boolean ownLoop = Boolean.getBoolean("cloister.bench.site-event-loop");
    io.grpc.netty.shaded.io.netty.channel.EventLoopGroup siteLoop = ownLoop
        ? new io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup(0,
            new io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory("site-net", true)) : null;
    ExecutorService siteExec = ownLoop ? Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "site-exec");
      t.setDaemon(true);
      return t;
    }) : null;
    long setupMillis;
    try (CoordinatorServer server = new CoordinatorServer(new InetSocketAddress("127.0.0.1", 0), pki.serverCredentials(),
        engine, new CertificateIdentityResolver(), (rpc, reason) -> { }, stack::registerServices, stack.taskAttachments())) {
      server.start();
      long started = System.nanoTime();
      setupMillis = (started - setupStart) / 1_000_000;
      List<Future<?>> futures = new ArrayList<>();
      for (int s = 0; s < n; s++) {
        String siteId = siteId(s);
        final int site = s;
        float[] delta = randomDelta(p, opts.seed() * 1_000_003L + s);
        LocalTrainer trainer = new LocalTrainer() {
          @Override
          public long numExamples() {
            return 100;
          }

          @Override
          public LocalUpdate train(float[] globalWeights, RoundTask task) {
            return LocalUpdate.nonPrivate(delta, 100, Map.of());
          }
        };
        IssuedCertificate party = pki.issue(siteId);
        NettyChannelBuilder cb = NettyChannelBuilder.forAddress("127.0.0.1", server.port(), pki.clientCredentials(party))
            .maxInboundMessageSize(64 * 1024 * 1024);
        if (ownLoop) {
          cb.eventLoopGroup(siteLoop).channelType(io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel.class)
              .executor(siteExec);
        }
        ManagedChannel ch = cb.build();
        channels.add(ch);
        UpdateSealer timed = timedSealer(stack.sealer(siteId, ch), site, n, total, sealMs, openMs, readyAt);
        SiteLedger ledger = new SiteLedger("jdbc:sqlite::memory:");
        ledgers.add(ledger);
        SiteAgent agent = new SiteAgent(ch, studyId, trainer, timed, new SpendSigner(siteId, party.privateKey(), party.certificate(), 1e-5,
            org.cloister.site.ledger.DatasetFingerprint.of(siteId, "benchmark")),
            ledger, new SiteAgent.Options(Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(60)));
        futures.add(pool.submit(agent));
      }
      long budget = 120_000L + 60_000L * total;
      if (!engine.awaitEnd(Duration.ofMillis(budget))) {
        throw new IllegalStateException(mode + ": study did not finish within " + budget / 1000 + " s");
      }
      for (Future<?> f : futures) {
        f.get(60, TimeUnit.SECONDS);
      }
      if (!"finished".equals(engine.status().label())) {
        throw new IllegalStateException(mode + ": study ended " + engine.status().label() + ": " + engine.statusDetail());
      }
      List<RoundTiming> timings = new ArrayList<>();
      for (int r = opts.warmup() + 1; r <= total; r++) {
        RoundResult res = results.get(r);
        if (res == null || !res.quorumMet() || res.aggregated().size() != n) {
          throw new IllegalStateException(mode + ": round " + r + " did not aggregate all " + n + " sites: " + res);
        }
        double roundMs = (completedAt.get(r) - completedAt.get(r - 1)) / 1e6;
        Long lastAccepted = aggregator.lastAccepted.get(r);
        timings.add(new RoundTiming(r, roundMs, res.durationMillis(), aggregator.millis.getOrDefault(r, Double.NaN),
            store.millis.getOrDefault(r, Double.NaN), max(sealMs.get(r)), max(openMs.get(r)),
            // the listener hears of the opening after the tasks can already be out: at tiny sizes a site can hold
            // its opened model a few microseconds before that (a negative difference, which percentiles refuse)
            openedAt.containsKey(r) ? Math.max(0, (max(readyAt.get(r)) - openedAt.get(r)) / 1e6) : Double.NaN,
            res.aggregated().size(),
            lastAccepted == null ? Double.NaN : (completedAt.get(r) - lastAccepted) / 1e6));
        progress.accept(String.format(java.util.Locale.ROOT, "%s: round %d %.1f ms", mode.name().toLowerCase(java.util.Locale.ROOT),
            r, roundMs));
      }
      CpuPerRound cpu = cpuAtEnd[0] == 0 || cpuAtWarmup[0] == 0 ? null : new CpuPerRound(
          (cpuAtEnd[0] - cpuAtWarmup[0]) / 1e6 / opts.rounds(), (cpuAtEnd[1] - cpuAtWarmup[1]) / 1e6 / opts.rounds(),
          (cpuAtEnd[2] - cpuAtWarmup[2]) / 1e6 / opts.rounds());
      Map<String, Map<String, Double>> byThread = new LinkedHashMap<>();
      for (String proc : threadCpu.get(1).keySet()) {
        byThread.put(proc, ThreadCpu.perRound(threadCpu.get(0).getOrDefault(proc, Map.of()), threadCpu.get(1).get(proc),
            opts.rounds()));
      }
      return new ModeResult(mode, timings, setupMillis, cpu, byThread);
    } finally {
      pool.shutdownNow();
      if (siteLoop != null) {
        siteLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        siteExec.shutdownNow();
      }
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
      }
      ledgers.forEach(SiteLedger::close);
      store.close();
      stack.close();
      deleteTree(work);
    }
  }

  /**
   * This JVM's CPU time, its live child processes' and their JIT compiler threads' (nanoseconds) into
   * {@code out[0..2]}.
   */
  private static void cpuNanos(long[] out) {
    java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    out[0] = os instanceof com.sun.management.OperatingSystemMXBean s ? Math.max(1, s.getProcessCpuTime()) : 0;
    List<ProcessHandle> children = ProcessHandle.current().descendants().toList();
    out[1] = children.stream()
        .mapToLong(p -> p.info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L)).sum();
    out[2] = children.stream().mapToLong(p -> compilerThreadNanos(p.pid())).sum();
  }

  /** By process (this JVM, the enclave, the key broker), the CPU nanoseconds of its threads per group. */
  private static Map<String, Map<String, Long>> threadCpuNanos(TimedStore store) {
    Map<String, Map<String, Long>> out = new LinkedHashMap<>();
    Map<String, Long> self = new java.util.TreeMap<>(ThreadCpu.snapshot(ProcessHandle.current().pid()));
    if (store != null) {
      self.put("store", store.cpuNanos.get());
    }
    out.put("bench_jvm", self);
    for (ProcessHandle p : ProcessHandle.current().descendants().toList()) {
      String cmd = p.info().commandLine().orElse("");
      String name = cmd.contains(org.cloister.coordinator.enclave.EnclaveProcess.MAIN_CLASS) ? "enclave"
          : cmd.toLowerCase(java.util.Locale.ROOT).contains("broker") ? "key_broker" : "child-" + p.pid();
      out.put(name, ThreadCpu.snapshot(p.pid()));
    }
    return out;
  }

  /** CPU time of a JVM's C1/C2 compiler threads from /proc (0 where there is no /proc). */
  private static long compilerThreadNanos(long pid) {
    Path tasks = Path.of("/proc", Long.toString(pid), "task");
    if (!Files.isDirectory(tasks)) {
      return 0;
    }
    long ticks = 0;
    try (var list = Files.list(tasks)) {
      for (Path t : list.toList()) {
        try {
          if (!Files.readString(t.resolve("comm")).startsWith("C2 Compiler")
              && !Files.readString(t.resolve("comm")).startsWith("C1 Compiler")) {
            continue;
          }
          String stat = Files.readString(t.resolve("stat"));
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
        } catch (java.io.IOException | RuntimeException e) {
          // the thread ended meanwhile
        }
      }
    } catch (java.io.IOException e) {
      return 0;
    }
    return ticks * 10_000_000L; // USER_HZ = 100 on Linux
  }

  static String siteId(int index) {
    return "site-" + (index + 1);
  }

  /** A small random delta (L2 norm well under the enclave's default bound). */
  static float[] randomDelta(int p, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] d = new float[p];
    float scale = (float) (1.0 / Math.sqrt(p));
    for (int i = 0; i < p; i++) {
      d[i] = (float) (rnd.nextDouble(-1.0, 1.0) * scale);
    }
    return d;
  }

  private static UpdateSealer timedSealer(UpdateSealer inner, int site, int n, int total, Map<Integer, double[]> sealMs,
                                          Map<Integer, double[]> openMs, Map<Integer, double[]> readyAt) {
    return new UpdateSealer() {
      @Override
      public Sealed seal(RoundTask task, float[] delta) {
        long t0 = System.nanoTime();
        Sealed s = inner.seal(task, delta);
        sealMs.computeIfAbsent(task.getRound(), k -> nanArray(n))[site] = (System.nanoTime() - t0) / 1e6;
        return s;
      }

      @Override
      public float[] openGlobalModel(RoundTask task, int dimension) {
        long t0 = System.nanoTime();
        float[] w = inner.openGlobalModel(task, dimension);
        long t1 = System.nanoTime();
        openMs.computeIfAbsent(task.getRound(), k -> nanArray(n))[site] = (t1 - t0) / 1e6;
        readyAt.computeIfAbsent(task.getRound(), k -> nanArray(n))[site] = t1;
        return w;
      }

      @Override
      public com.google.protobuf.ByteString pollNonce() {
        return inner.pollNonce();
      }

      @Override
      public float[] openGlobalModel(RoundTask task, int dimension, Attached attached) {
        long t0 = System.nanoTime();
        float[] w = inner.openGlobalModel(task, dimension, attached);
        long t1 = System.nanoTime();
        openMs.computeIfAbsent(task.getRound(), k -> nanArray(n))[site] = (t1 - t0) / 1e6;
        readyAt.computeIfAbsent(task.getRound(), k -> nanArray(n))[site] = t1;
        return w;
      }
    };
  }

  private static double[] nanArray(int n) {
    double[] a = new double[n];
    Arrays.fill(a, Double.NaN);
    return a;
  }

  private static double max(double[] a) {
    if (a == null) {
      return Double.NaN;
    }
    double m = Double.NaN;
    for (double v : a) {
      if (!Double.isNaN(v) && (Double.isNaN(m) || v > m)) {
        m = v;
      }
    }
    return m;
  }

  /** The aggregator's call time per round (for the secure stack: the gRPC call to the enclave). */
  private static final class TimedAggregator implements Aggregator {
    final Aggregator inner;
    final Map<Integer, Double> millis = new ConcurrentHashMap<>();
    /** When the coordinator accepted each round's last update (System.nanoTime). */
    final Map<Integer, Long> lastAccepted = new ConcurrentHashMap<>();

    TimedAggregator(Aggregator inner) {
      this.inner = inner;
    }

    @Override
    public AggregationResult aggregate(String roundId, int round, ModelArtifact current, List<ReceivedUpdate> updates) {
      long t0 = System.nanoTime();
      try {
        return inner.aggregate(roundId, round, current, updates);
      } finally {
        millis.put(round, (System.nanoTime() - t0) / 1e6);
      }
    }

    @Override
    public void accepted(String roundId, int round, ModelArtifact current, ReceivedUpdate update) {
      lastAccepted.merge(round, System.nanoTime(), Math::max);
      inner.accepted(roundId, round, current, update);
    }

    @Override
    public void abandoned(String roundId) {
      inner.abandoned(roundId);
    }
  }

  /** The store's commit time per round (round result, new model, ledger entries in one transaction). */
  private static final class TimedStore implements StudyStore {
    final StudyStore inner;
    final Map<Integer, Double> millis = new ConcurrentHashMap<>();
    /** Thread CPU spent inside the store's round commits and spend records (nanoseconds). */
    final java.util.concurrent.atomic.AtomicLong cpuNanos = new java.util.concurrent.atomic.AtomicLong();
    private final java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();

    TimedStore(StudyStore inner) {
      this.inner = inner;
    }

    @Override
    public StudyState openStudy(String studyId, String configFingerprint, ModelArtifact initialModel) {
      return inner.openStudy(studyId, configFingerprint, initialModel);
    }

    @Override
    public void saveSite(String studyId, String siteId, long numExamples) {
      inner.saveSite(studyId, siteId, numExamples);
    }

    @Override
    public void commitRound(String studyId, RoundResult result, ModelArtifact newModel, List<LedgerRecord> spends,
                            byte[] receipt) {
      long t0 = System.nanoTime();
      long c0 = threads.getCurrentThreadCpuTime();
      inner.commitRound(studyId, result, newModel, spends, receipt);
      cpuNanos.addAndGet(threads.getCurrentThreadCpuTime() - c0);
      millis.put(result.round(), (System.nanoTime() - t0) / 1e6);
    }

    @Override
    public List<RoundResult> rounds(String studyId) {
      return inner.rounds(studyId);
    }

    @Override
    public boolean recordSpend(String studyId, LedgerRecord spend, String status, String reason) {
      long c0 = threads.getCurrentThreadCpuTime();
      try {
        return inner.recordSpend(studyId, spend, status, reason);
      } finally {
        cpuNanos.addAndGet(threads.getCurrentThreadCpuTime() - c0);
      }
    }

    @Override
    public int closeInFlightSpends(String studyId, String reason) {
      return inner.closeInFlightSpends(studyId, reason);
    }

    @Override
    public Map<String, SpendStatus> spendStatuses(String studyId) {
      return inner.spendStatuses(studyId);
    }

    @Override
    public List<Checkpoint> checkpoints(String studyId) {
      return inner.checkpoints(studyId);
    }

    @Override
    public List<String> studies() {
      return inner.studies();
    }

    @Override
    public List<LedgerEntry> ledger(String studyId) {
      return inner.ledger(studyId);
    }

    @Override
    public List<StoredReceipt> receipts(String studyId) {
      return inner.receipts(studyId);
    }

    @Override
    public void saveStatus(String studyId, String status, String detail) {
      inner.saveStatus(studyId, status, detail);
    }

    @Override
    public Optional<ModelArtifact> model(String studyId, long version) {
      return inner.model(studyId, version);
    }

    @Override
    public void close() {
      inner.close();
    }
  }

  static Map<String, Object> stats(double[] v) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("median", round1(percentile(v, 50)));
    m.put("p90", round1(percentile(v, 90)));
    m.put("min", round1(Arrays.stream(v).filter(x -> !Double.isNaN(x)).min().orElse(Double.NaN)));
    m.put("max", round1(Arrays.stream(v).filter(x -> !Double.isNaN(x)).max().orElse(Double.NaN)));
    return m;
  }

  /** Percentile of the non-NaN values (NaN when there are none), from HdrHistogram ({@link Percentiles}). */
  static double percentile(double[] v, double pct) {
    double[] s = Arrays.stream(v).filter(x -> !Double.isNaN(x)).toArray();
    return s.length == 0 ? Double.NaN : Percentiles.percentile(s, pct);
  }

  private static Object round1(double v) {
    return Double.isNaN(v) ? null : Math.round(v * 10) / 10.0;
  }

  private static void deleteTree(Path p) {
    try (var walk = Files.walk(p)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (java.io.IOException | RuntimeException ignored) {
      // best effort
    }
  }
}
