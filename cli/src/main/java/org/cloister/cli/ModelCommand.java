package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.cloister.consortium.ReceiptVerifier;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.coordinator.enclave.SealedModelStore;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.data.ModelCard;
import org.cloister.models.ModelZoo;
import org.cloister.models.Parameters;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.SealedModelCopy;
import org.cloister.site.sealing.SealedModelOpener;
import org.cloister.site.sealing.SealingException;
import org.cloister.trust.pki.Pem;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code cloister model}: a consortium member's own copy of a published model. */
@Command(name = "model", mixinStandardHelpOptions = true,
    description = "A consortium member's copy of a published model: open it with the member's kit, export it, "
        + "or evaluate every published version on the member's own data.",
    subcommands = {ModelCommand.Export.class, ModelCommand.Evaluate.class})
final class ModelCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** What an export writes beside the model: {@value #MANIFEST}. */
  static final String MANIFEST = "export.json";
  static final String MANIFEST_FORMAT = "cloister-model-export/v1";

  @Command(name = "export", mixinStandardHelpOptions = true,
      description = {
          "Exports a published model from this member's sealed copy, with its model card and a manifest.",
          "Opens the copy of a published model sealed to this member (its kit's sealing key) after checking the "
              + "enclave's signed receipt for that version (the kit's attestation root and expected PCRs), and "
              + "writes it with the study's model card and a manifest (study, version, digests).",
          "--format dl4j: DL4J's model zip (ModelSerializer); --format json: the coefficients of a linear model "
              + "(logreg), by feature and class name. Exit 0 exported, 1 the receipt or the copy does not verify, "
              + "2 bad input."})
  static final class Export implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    MemberModelOptions member = new MemberModelOptions();

    @Option(names = "--model-version", paramLabel = "V",
        description = "The published version to export (default: the latest with a verified receipt).")
    Long version;

    @Option(names = "--format", paramLabel = "dl4j|json", defaultValue = "dl4j",
        description = "dl4j: DL4J's model zip; json: coefficients of a linear model (default ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--out", paramLabel = "DIR", required = true,
        description = "Where to write the export (a new or empty folder; never overwritten).")
    Path out;

    @Override
    public Integer call() throws Exception {
      CommandLine cl = spec.commandLine();
      PrintWriter stdout = cl.getOut();
      PrintWriter err = cl.getErr();
      if (!format.equals("dl4j") && !format.equals("json")) {
        throw new CommandLine.ParameterException(cl, "--format must be dl4j or json, got '" + format + "'");
      }
      if (Files.exists(out) && (!Files.isDirectory(out) || Files.list(out).findAny().isPresent())) {
        throw new CommandLine.ParameterException(cl, "--out " + out + " exists and is not empty: an export is never "
            + "overwritten");
      }
      Kit k = Kit.read(cl, member.kit);
      String url = CoordinatorDatabase.url(cl, member.database);
      String study = k.card().studyId();
      ModelArtifact artifact;
      ReceiptVerifier.Result receipts;
      try (JdbcStudyStore store = new JdbcStudyStore(url)) {
        if (!store.studies().contains(study)) {
          throw new CommandLine.ParameterException(cl, "--database: no study '" + study + "' (the kit's model card's) in "
              + member.database);
        }
        receipts = k.verifier().verify(store, List.of(study));
        long v;
        if (version != null) {
          v = version;
        } else {
          v = receipts.verified().stream().mapToLong(ReceiptVerifier.Checked::modelVersion).max().orElse(0);
          if (v == 0) {
            err.println("model export: study " + study + " has no published model with a verified receipt");
            err.flush();
            return 1;
          }
        }
        long chosen = v;
        artifact = store.model(study, v).orElse(null);
        if (artifact == null || v < 2) {
          err.println("model export: study " + study + " has no published model version " + v
              + (v < 2 ? " (version 1 is the public initial model)" : ""));
          err.flush();
          return 2;
        }
        if (refused(err, "model export", study, receipts, "exported")) {
          return 1;
        }
        if (receipts.verified().stream().noneMatch(c -> c.modelVersion() == chosen)) {
          err.println("model export: model version " + v + " of study " + study + " has no verified receipt from the "
              + "enclave; nothing exported");
          err.flush();
          return 1;
        }
      }
      int dimension = (int) artifact.getDimension();
      MultiLayerNetwork net = ModelZoo.newNetwork(ModelZoo.byName(artifact.getModelName()), k.card().features().size(),
          k.card().classes().size(), 0, null, DataType.FLOAT);
      if (net.numParams() != dimension) {
        err.println("model export: the model card's " + k.card().features().size() + " features and "
            + k.card().classes().size() + " classes give " + artifact.getModelName() + " " + net.numParams()
            + " parameters, the published model has " + dimension + ": the card is not this study's");
        err.flush();
        return 1;
      }
      SealedModelCopy copy = new SealedModelStore(member.sealedModels).copy(study, artifact.getVersion(), k.member()).orElse(null);
      if (copy == null) {
        err.println("model export: no copy of version " + artifact.getVersion() + " sealed to " + k.member() + " in "
            + member.sealedModels + " (expected " + study + "/v" + artifact.getVersion() + "/" + k.member() + ".sealed)");
        err.flush();
        return 2;
      }
      float[] weights;
      try {
        weights = new SealedModelOpener(null, k.member(), k.sealingKey()).open(artifact, copy, dimension);
      } catch (SealingException e) {
        err.println("model export: " + e.getMessage());
        err.flush();
        return 1;
      }
      Parameters.set(net, weights);
      Files.createDirectories(out);
      List<String> files = new ArrayList<>();
      if (format.equals("dl4j")) {
        ModelSerializer.writeModel(net, out.resolve("model.zip").toFile(), false);
        files.add("model.zip");
      } else {
        if (!artifact.getModelName().equals("logreg")) {
          Files.delete(out);
          throw new CommandLine.ParameterException(cl, "--format json exports a linear model's coefficients; "
              + artifact.getModelName() + " is not linear: use --format dl4j");
        }
        write(out.resolve("coefficients.json"), coefficients(net, k.card(), study, artifact.getVersion()));
        files.add("coefficients.json");
      }
      Files.write(out.resolve(ModelCard.FILE), k.card().toJson());
      files.add(ModelCard.FILE);
      Map<String, Object> manifest = new LinkedHashMap<>();
      manifest.put("format", MANIFEST_FORMAT);
      manifest.put("study_id", study);
      manifest.put("model_name", artifact.getModelName());
      manifest.put("model_version", artifact.getVersion());
      manifest.put("parameters", dimension);
      manifest.put("artifact_sha256", HexFormat.of().formatHex(artifact.getSha256().toByteArray()));
      manifest.put("weights_sha256", sha256(FloatCodec.encode(weights)));
      manifest.put("model_card_sha256", k.card().sha256());
      manifest.put("receipt", "verified: signed by the attested enclave over this artifact's digest");
      manifest.put("opened_by", k.member());
      manifest.put("export_format", format);
      manifest.put("files", files);
      manifest.put("classes", k.card().classNames());
      write(out.resolve(MANIFEST), manifest);
      java.util.Arrays.fill(weights, 0f);
      stdout.printf(Locale.ROOT, "exported study %s model %s version %d (%d parameters) as %s to %s%n", study,
          artifact.getModelName(), artifact.getVersion(), dimension, format, out);
      stdout.printf(Locale.ROOT, "  receipt verified; artifact SHA-256 %s%n", manifest.get("artifact_sha256"));
      stdout.printf(Locale.ROOT, "  model card %s: %d features, classes %s (inputs: the card's rules on raw values)%n",
          ModelCard.FILE, k.card().features().size(), k.card().classNames());
      stdout.flush();
      return 0;
    }

    private static Map<String, Object> coefficients(MultiLayerNetwork net, ModelCard card, String study, long version) {
      INDArray w = net.getLayer(0).getParam("W"); // [features, classes]
      INDArray b = net.getLayer(0).getParam("b");
      Map<String, Object> root = new LinkedHashMap<>();
      root.put("format", "cloister-linear-model/v1");
      root.put("study_id", study);
      root.put("model_version", version);
      root.put("model", "softmax(x' W + b) over the classes; x = the model card's transform of the raw features");
      List<Map<String, Object>> classes = new ArrayList<>();
      for (int c = 0; c < card.classes().size(); c++) {
        Map<String, Object> cls = new LinkedHashMap<>();
        cls.put("label", card.classes().get(c).label());
        cls.put("name", card.classes().get(c).name());
        cls.put("intercept", b.getDouble(c));
        Map<String, Double> coef = new LinkedHashMap<>();
        for (int f = 0; f < card.features().size(); f++) {
          coef.put(card.features().get(f).name(), w.getDouble(f, c));
        }
        cls.put("coefficients", coef);
        classes.add(cls);
      }
      root.put("classes", classes);
      return root;
    }

    private static void write(Path file, Object json) throws IOException {
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), json);
    }

    private static String sha256(byte[] b) {
      try {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  @Command(name = "evaluate", mixinStandardHelpOptions = true,
      description = {"Evaluates every published model version on labelled data: accuracy, AUC and log loss.",
          "Evaluates every published version that has a verified receipt, opened from this member's sealed "
          + "copies, on a labelled CSV the member holds (its own held-out data, or public data): accuracy, AUC "
          + "and log loss per round.",
          "The data never leaves this machine and nothing is sent to anyone: the figures describe the member's "
          + "own data (docs/privacy-accounting.md). Exit 0 evaluated, 1 the receipts or a copy do not verify, 2 "
          + "bad input."})
  static final class Evaluate implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    MemberModelOptions member = new MemberModelOptions();

    @Option(names = "--data", paramLabel = "CSV", required = true,
        description = "Labelled rows of raw values with the model card's feature columns (a header row).")
    Path data;

    @Option(names = "--label", paramLabel = "COLUMN", required = true, description = "The label column of --data.")
    String label;

    @Option(names = "--json", description = "Print the per-round figures as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      CommandLine cl = spec.commandLine();
      PrintWriter stdout = cl.getOut();
      PrintWriter err = cl.getErr();
      Kit k = Kit.read(cl, member.kit);
      ModelCard card = k.card();
      if (!card.isPublic()) {
        throw new CommandLine.ParameterException(cl, "the study's model card has private rules: there is no public "
            + "transform to apply to --data");
      }
      org.cloister.data.Dataset raw;
      try {
        raw = new org.cloister.data.CsvDatasetLoader(new org.cloister.data.StudySchema(card.featureNames(), label,
            card.classes().stream().map(ModelCard.ClassEntry::label).toList()), org.cloister.data.BadRowPolicy.FAIL)
            .load(data).dataset();
      } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
        throw new CommandLine.ParameterException(cl, "--data " + data + ": " + e.getMessage());
      }
      org.cloister.data.Dataset test = card.preprocessing().resolvePublic().apply(raw); // clamped as training did
      String url = CoordinatorDatabase.url(cl, member.database);
      String study = card.studyId();
      List<Map<String, Object>> rounds = new ArrayList<>();
      try (JdbcStudyStore store = new JdbcStudyStore(url)) {
        ReceiptVerifier.Result receipts = k.verifier().verify(store, List.of(study));
        if (refused(err, "model evaluate", study, receipts, "evaluated")) {
          return 1;
        }
        SealedModelStore copies = new SealedModelStore(member.sealedModels);
        SealedModelOpener opener = new SealedModelOpener(null, k.member(), k.sealingKey());
        for (ReceiptVerifier.Checked c : receipts.verified().stream()
            .sorted(java.util.Comparator.comparingLong(ReceiptVerifier.Checked::modelVersion)).toList()) {
          ModelArtifact m = store.model(study, c.modelVersion()).orElseThrow();
          SealedModelCopy copy = copies.copy(study, m.getVersion(), k.member()).orElse(null);
          if (copy == null) {
            err.println("model evaluate: no copy of version " + m.getVersion() + " sealed to " + k.member() + " in "
                + member.sealedModels);
            err.flush();
            return 2;
          }
          MultiLayerNetwork net = ModelZoo.newNetwork(ModelZoo.byName(m.getModelName()), card.features().size(),
              card.classes().size(), 0, null, DataType.FLOAT);
          float[] w;
          try {
            w = opener.open(m, copy, (int) m.getDimension());
          } catch (SealingException | IllegalArgumentException e) {
            err.println("model evaluate: " + e.getMessage());
            err.flush();
            return 1;
          }
          Parameters.set(net, w);
          java.util.Arrays.fill(w, 0f);
          org.cloister.models.EvaluationMetrics e = org.cloister.models.Evaluator.evaluate(net, test);
          Map<String, Object> r = new LinkedHashMap<>();
          r.put("round", c.round());
          r.put("model_version", m.getVersion());
          r.put("contributors", c.contributors());
          r.put("accuracy", e.accuracy());
          r.put("auc", e.auc());
          r.put("log_loss", e.logLoss());
          r.put("examples", e.examples());
          rounds.add(r);
          if (!json) {
            stdout.printf(Locale.ROOT, "round %2d  model version %d  accuracy %.4f  auc %.4f  loss %.4f  (%d examples of "
                + "%s, %d sites)%n", c.round(), m.getVersion(), e.accuracy(), e.auc(), e.logLoss(), e.examples(),
                data.getFileName(), c.contributors().size());
          }
        }
      }
      if (json) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("study_id", study);
        root.put("evaluated_by", k.member());
        root.put("data", data.getFileName().toString());
        root.put("rounds", rounds);
        stdout.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root));
      } else if (rounds.isEmpty()) {
        stdout.println("model evaluate: study " + study + " has no published model with a verified receipt yet");
      }
      stdout.flush();
      return 0;
    }
  }

  /** Prints why nothing was {@code done} and says so (true) when the study's receipts do not all verify. */
  private static boolean refused(PrintWriter err, String command, String study, ReceiptVerifier.Result receipts, String done) {
    if (receipts.valid()) {
      return false;
    }
    err.println(command + ": the enclave's receipts of study " + study + " do NOT verify; nothing " + done + ":");
    receipts.problems().stream().limit(5).forEach(p -> err.println("  " + p));
    err.flush();
    return true;
  }

  /** What a member's kit holds for opening its models: identity, sealing key, model card, enclave pins. */
  record Kit(String member, org.cloister.trust.hpke.HpkeKeyPair sealingKey, ModelCard card, ReceiptVerifier verifier) {
    static Kit read(CommandLine cl, Path kit) throws IOException {
      Path cert = Files.isRegularFile(kit.resolve("site.crt")) ? kit.resolve("site.crt") : kit.resolve("member.crt");
      for (Path f : List.of(cert, kit.resolve("sealing.key"), kit.resolve(ModelCard.FILE))) {
        if (!Files.isRegularFile(f)) {
          throw new CommandLine.ParameterException(cl, "--kit " + kit + ": " + f.getFileName() + " not found (a member's "
              + "kit from `cloister provision` holds site.crt or member.crt, sealing.key and " + ModelCard.FILE + ")");
        }
      }
      String member = Pem.readCertificates(cert).get(0).getSubjectX500Principal().getName()
          .replaceAll(".*CN=([^,]+).*", "$1");
      ModelCard card;
      try {
        card = ModelCard.parse(Files.readAllBytes(kit.resolve(ModelCard.FILE)), kit.resolve(ModelCard.FILE).toString());
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(cl, e.getMessage());
      }
      return new Kit(member, SecureAggregationSetup.readSealingKey(kit.resolve("sealing.key")), card,
          ReceiptVerifiers.ofKit(cl, kit));
    }
  }
}
