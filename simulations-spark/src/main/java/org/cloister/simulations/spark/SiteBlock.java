package org.cloister.simulations.spark;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.Serializable;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.cloister.models.ModelArchitecture;
import org.cloister.models.ModelZoo;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.simulations.engine.SiteRecipe;
import org.cloister.simulations.engine.SiteSource;
import org.cloister.simulations.engine.StreamingSum;
import org.cloister.simulations.engine.VirtualSite;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * One Spark partition's virtual sites (sites {@code s} with {@code s mod partitions == partition}),
 * kept in the executor's memory between rounds (a cached RDD element): their compact state, the
 * data source (generated or loaded on the executor) and one reusable network. Only the recipe
 * fields cross the network; the state is built on the executor.
 *
 * <p>A round mutates the sites' state (their RNG streams advance), so a retried task could not
 * reproduce a round from the cached block: {@link VirtualSite#train} refuses, and the study fails
 * with that reason. A block lost with its executor is rebuilt from the RDD's lineage, which replays
 * every earlier round from the seed and gives the same state.
 */
final class SiteBlock implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The model and training settings every site of the study uses. */
  record Model(String architecture, int inputs, int classes, long seed, double learningRate, int dimension,
               double maxUpdateNorm) implements Serializable {
  }

  /** One round as the executors see it. */
  record Round(byte[] task, BitSet selected) implements Serializable {
  }

  private final int partition;
  private final int partitions;
  private final SourceRecipe sourceRecipe;
  private final SiteRecipe siteRecipe;
  private final Model model;
  private transient Map<Integer, VirtualSite> sites;
  private transient SiteSource source;
  private transient org.deeplearning4j.nn.api.Model net;
  private transient PartialSum last;

  SiteBlock(int partition, int partitions, SourceRecipe sourceRecipe, SiteRecipe siteRecipe, Model model) {
    this.partition = partition;
    this.partitions = partitions;
    this.sourceRecipe = sourceRecipe;
    this.siteRecipe = siteRecipe;
    this.model = model;
  }

  /** Trains this partition's selected sites on {@code global}; the result is {@link #result()}. */
  SiteBlock train(Round round, float[] global, Map<Integer, SiteKey> keys) {
    if (sites == null) {
      sites = new HashMap<>();
      source = sourceRecipe.open();
      ModelArchitecture arch = ModelZoo.byName(model.architecture());
      net = ModelZoo.newModel(arch, model.inputs(), model.classes(), model.seed(), new Sgd(model.learningRate()),
          DataType.FLOAT);
    }
    RoundTask task;
    try {
      task = RoundTask.parseFrom(round.task());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("the driver sent an unreadable round task", e);
    }
    StreamingSum sum = new StreamingSum(model.dimension(), model.maxUpdateNorm());
    PartialSum out = PartialSum.empty();
    for (int s = partition; s < sourceRecipe.sites(); s += partitions) { // this partition's sites, in site order
      if (!round.selected().get(s)) {
        continue;
      }
      int index = s;
      VirtualSite site = sites.computeIfAbsent(index, i -> new VirtualSite(i, source.size(i)));
      Optional<VirtualSite.Trained> trained = site.train(task, global, net, source, siteRecipe, id -> {
        SiteKey key = keys.get(index);
        if (key == null) {
          throw new IllegalStateException("no consortium certificate was issued for " + id);
        }
        return key.issued();
      });
      if (trained.isEmpty()) {
        continue;
      }
      VirtualSite.Trained t = trained.get();
      byte[] delta = FloatCodec.encode(t.update().delta());
      sum.add(t.siteId(), delta, t.update().numExamples());
      byte[] envelope = t.envelope(task, SparkAggregator.PAYLOAD_FORMAT, ByteString.copyFrom(FloatCodec.sha256(delta)))
          .toByteArray();
      out.submissions.add(new PartialSum.Submission(t.siteId(), t.certificate(), envelope));
    }
    if (!sum.accepted().isEmpty()) {
      out.sum = sum.sum().clone();
    }
    out.weight = sum.weight();
    out.accepted.addAll(sum.accepted());
    out.rejected.putAll(sum.rejected());
    last = out;
    return this;
  }

  PartialSum result() {
    if (last == null) {
      throw new IllegalStateException("partition " + partition + " has no round result");
    }
    return last;
  }
}
