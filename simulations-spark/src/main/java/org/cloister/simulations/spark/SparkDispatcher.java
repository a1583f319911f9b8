package org.cloister.simulations.spark;

import com.google.protobuf.InvalidProtocolBufferException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.DpEventJson;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.cloister.simulations.engine.InProcessSimulation;
import org.cloister.simulations.engine.KernelAggregator;
import org.cloister.simulations.engine.VirtualSite;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The spark engine's dispatcher: the driver is the coordinator (the study's real round engine,
 * strategy, budget guard and ledger); the sites live in a cached RDD of {@link SiteBlock}s, one per
 * partition, built on the executors. Each round is one Spark job: every partition trains its
 * selected sites with the same trainer and returns one {@link PartialSum}, combined with
 * {@code treeAggregate}; the driver then hands each trained site's envelope (its signed spend) to
 * the round engine, which records the spends and publishes the model from the combined sum.
 */
final class SparkDispatcher implements InProcessSimulation.Dispatcher {
  private static final Logger log = LoggerFactory.getLogger(SparkDispatcher.class);

  private final JavaSparkContext spark;
  private final int partitions;
  private final ExecutorService driver = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "spark-round");
    t.setDaemon(true);
    return t;
  });
  private final Map<String, List<DpEvent>> spent = new ConcurrentHashMap<>();
  private final Map<Integer, SiteKey> issued = new ConcurrentHashMap<>();
  private InProcessSimulation.Study study;
  private SiteBlock.Model model;
  private SparkAggregator aggregator;
  private JavaRDD<SiteBlock> blocks;

  SparkDispatcher(JavaSparkContext spark, int partitions) {
    this.spark = spark;
    this.partitions = partitions;
  }

  @Override
  public void start(InProcessSimulation.Study s) {
    if (s.enclave() != null) {
      throw new IllegalArgumentException("secure aggregation is simulated in-process with --engine inprocess only (spark sums"
          + " plaintext updates per partition)");
    }
    this.study = s;
  }

  @Override
  public Aggregator aggregator(KernelAggregator kernel) {
    var cfg = study.config();
    model = new SiteBlock.Model(study.architecture().name(), study.inputs(), study.classes(), cfg.seed(), cfg.learningRate(),
        kernel.dimension(), kernel.maxUpdateNorm());
    SourceRecipe sourceRecipe = SourceRecipe.of(cfg);
    var siteRecipe = study.recipe();
    SiteBlock.Model m = model;
    int p = Math.min(partitions, cfg.sites());
    blocks = spark.parallelize(IntStream.range(0, p).boxed().toList(), p)
        .map(i -> new SiteBlock(i, p, sourceRecipe, siteRecipe, m));
    aggregator = new SparkAggregator(kernel);
    return aggregator;
  }

  @Override
  public void roundOpened(RoundTask task, float[] global, List<String> selected) {
    driver.execute(() -> {
      try {
        runRound(task, global, selected);
      } catch (Exception | Error e) { // Spark throws SparkException (checked) undeclared
        log.error("spark round {} failed", task.getRound(), e);
        study.fail(e);
      }
    });
  }

  private void runRound(RoundTask task, float[] global, List<String> selected) {
    BitSet chosen = new BitSet(study.config().sites());
    List<Integer> firstTime = new ArrayList<>();
    for (String id : selected) {
      int index = VirtualSite.siteIndex(id);
      chosen.set(index);
      if (!issued.containsKey(index)) {
        firstTime.add(index);
      }
    }
    // certificates for the sites that train for the first time, issued by the consortium CA on the driver
    Map<Integer, SiteKey> keys = new TreeMap<>();
    firstTime.parallelStream().forEach(i -> issued.put(i, SiteKey.of(study.consortium().issue(VirtualSite.siteId(i)))));
    firstTime.forEach(i -> keys.put(i, issued.get(i)));
    Broadcast<float[]> model0 = spark.broadcast(global);
    Broadcast<Map<Integer, SiteKey>> newKeys = spark.broadcast(keys);
    SiteBlock.Round round = new SiteBlock.Round(task.toByteArray(), chosen);
    JavaRDD<SiteBlock> previous = blocks;
    JavaRDD<SiteBlock> next = previous.map(b -> b.train(round, model0.value(), newKeys.value()))
        .persist(StorageLevel.MEMORY_ONLY());
    PartialSum sum = next.treeAggregate(PartialSum.empty(), (acc, b) -> acc.merge(b.result()), PartialSum::merge);
    blocks = next;
    previous.unpersist(false);
    // the broadcasts stay: the RDD's lineage (which rebuilds a lost block by replaying the rounds) refers to them
    aggregator.summed(task.getRoundId(), sum);
    // in parallel: the round engine verifies each spend's signature before it takes its lock
    sum.submissions.parallelStream().forEach(s -> {
      UpdateEnvelope env;
      try {
        env = UpdateEnvelope.parseFrom(s.envelope());
        spent.computeIfAbsent(s.siteId(), k -> java.util.Collections.synchronizedList(new ArrayList<>()))
            .add(DpEventJson.fromJson(PrivacySpend.parseFrom(env.getSpend().getSpend()).getEventJson()));
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("an executor returned an unreadable envelope for " + s.siteId(), e);
      }
      study.submit(s.siteId(), s.certificate(), env);
    });
  }

  @Override
  public Map<String, List<DpEvent>> spentBySite() {
    Map<String, List<DpEvent>> out = new TreeMap<>();
    spent.forEach((site, events) -> out.put(site, List.copyOf(events)));
    return out;
  }

  @Override
  public void close() {
    driver.shutdownNow();
  }
}
