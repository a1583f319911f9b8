package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.List;
import java.util.SplittableRandom;
import org.cloister.data.Dataset;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.PoissonSampledEvent;
import org.cloister.dp.events.SelfComposedEvent;
import org.cloister.models.Parameters;
import org.cloister.protocol.DpSchedule;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.site.dp.DpSgdLocalTrainer;
import org.cloister.site.ledger.DatasetFingerprint;
import org.cloister.site.ledger.SiteLedger;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/** A site's budget belongs to its dataset: a second study on the same data starts from what the first spent. */
class DatasetBudgetTest {
  private static final TrainingConfig CFG = TrainingConfig.newBuilder().setBatchSize(16).setLocalEpochs(1)
      .setDp(DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(1.0).setClipNorm(1.0)).build();

  private static Dataset data(int n) {
    SplittableRandom r = new SplittableRandom(3);
    double[][] x = new double[n][2];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      x[i][0] = r.nextGaussian();
      x[i][1] = r.nextGaussian();
      y[i] = x[i][0] > 0 ? 1 : 0;
    }
    return new Dataset(List.of("a", "b"), "y", List.of("no", "yes"), x, y);
  }

  private static DpEvent oneRound(long n) {
    DpSchedule s = DpSchedule.of(CFG, n);
    return new SelfComposedEvent(new PoissonSampledEvent(s.samplingRate(), new GaussianEvent(1.0)), s.steps());
  }

  private static RoundTask task(String study, int round) {
    return RoundTask.newBuilder().setStudyId(study).setRound(round).setRoundId(study + "-r" + round).setConfig(CFG).build();
  }

  @Test
  void aSecondStudyOnTheSameDataStartsFromTheFirstStudysSpend(@TempDir Path dir) throws Exception {
    Path csv = Files.writeString(dir.resolve("patients.csv"), "a,b,y\n");
    String dataset = DatasetFingerprint.of("site-1", csv);
    Dataset d = data(160);
    DpEvent round = oneRound(d.size());
    int firstStudyRounds = 8;
    try (SiteLedger ledger = new SiteLedger("jdbc:sqlite:" + dir.resolve("site-ledger.db"))) {
      for (int r = 1; r <= firstStudyRounds; r++) {
        ledger.record("study-1", "study-1-r" + r, r, dataset, round, 0, new byte[] {1}, new byte[] {2});
      }
    }
    double spentByStudy1 = new RdpAccountant().compose(round, firstStudyRounds).epsilon(1e-5);
    double oneMore = new RdpAccountant().compose(round, firstStudyRounds + 1).epsilon(1e-5);
    // a ceiling the first study's spend fits but that has no room for a full further round
    PrivacyBudget ceiling = new PrivacyBudget((spentByStudy1 + oneMore) / 2, 1e-5);

    try (SiteLedger ledger = new SiteLedger("jdbc:sqlite:" + dir.resolve("site-ledger.db"))) { // the site restarted for study 2
      assertThat(ledger.events("study-2")).isEmpty();
      assertThat(ledger.datasetEvents(dataset)).hasSize(firstStudyRounds);
      // the guard of study 2 starts where study 1 ended
      PrivacyGuard guard = new PrivacyGuard(ceiling, compose(ledger.datasetEvents(dataset)));
      assertThat(guard.epsilonAfter(round, 0)).isEqualTo(spentByStudy1);
      assertThat(guard.allows(round)).isFalse();

      MultiLayerNetwork net = TestNets.single(2, 2, LossFunction.MCXENT, Activation.SOFTMAX, 5);
      float[] w = Parameters.get(net);
      DpSgdLocalTrainer study2 = new DpSgdLocalTrainer(net, d, new SeededGaussianNoise(1), ceiling,
          () -> ledger.datasetEvents(dataset), new SplittableRandom(2));
      // study 2 cannot take a full round: it stops early instead of starting from zero
      var update = study2.train(w, task("study-2", 1));
      assertThat(update.epsilonAfter()).isLessThanOrEqualTo(ceiling.epsilon()).isGreaterThan(spentByStudy1);
      assertThat(update.metrics().get("steps")).isLessThan((double) DpSchedule.of(CFG, d.size()).steps());

      // another dataset at the same site has its own budget
      String other = DatasetFingerprint.of("site-1", dir.resolve("other.csv"));
      assertThat(other).isNotEqualTo(dataset);
      assertThat(ledger.datasetEvents(other)).isEmpty();
      assertThat(ledger.datasets()).containsExactly(new SiteLedger.DatasetSpend(dataset, 1, firstStudyRounds));
    }
  }

  @Test
  void spendsRecordedBeforeDatasetsWereTrackedCountAgainstEveryDataset(@TempDir Path dir) throws Exception {
    String url = "jdbc:sqlite:" + dir.resolve("old-ledger.db");
    try (Connection c = DriverManager.getConnection(url)) { // the schema of a ledger written by an earlier version
      c.createStatement().execute("CREATE TABLE spends (study_id TEXT NOT NULL, round_id TEXT NOT NULL, round INTEGER NOT NULL,"
          + " event_json TEXT NOT NULL, epsilon_after REAL NOT NULL, spend BLOB NOT NULL, signature BLOB NOT NULL,"
          + " recorded_ms INTEGER NOT NULL, PRIMARY KEY (study_id, round_id))");
      c.createStatement().execute("INSERT INTO spends VALUES ('old', 'r1', 1, '"
          + org.cloister.dp.events.DpEventJson.toJson(oneRound(160)) + "', 1.0, x'01', x'02', 1)");
    }
    try (SiteLedger ledger = new SiteLedger(url)) {
      assertThat(ledger.datasetEvents(DatasetFingerprint.of("site-1", "any"))).hasSize(1);
    }
  }

  private static RdpAccountant compose(List<DpEvent> events) {
    RdpAccountant a = new RdpAccountant();
    events.forEach(e -> a.compose(e, 1));
    return a;
  }
}
