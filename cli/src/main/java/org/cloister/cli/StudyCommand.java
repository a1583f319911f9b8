package org.cloister.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.cloister.protocol.tls.MutualTls;
import org.cloister.protocol.v1.ControlStudyRequest;
import org.cloister.protocol.v1.ListStudiesRequest;
import org.cloister.protocol.v1.OperatorSiteState;
import org.cloister.protocol.v1.OperatorStudyStatus;
import org.cloister.protocol.v1.StudyAdminGrpc;
import org.cloister.trust.pki.Pem;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code cloister status} and {@code cloister study list|pause|resume|stop}: the operator's view and actions on a
 * running coordinator, over its mTLS operator API with the operator certificate {@code provision} wrote.
 */
@Command(name = "study", mixinStandardHelpOptions = true,
    description = "Operator actions on a running coordinator's study: list, pause, resume, stop (operator kit).",
    subcommands = {StudyCommand.ListStudies.class, StudyCommand.Pause.class, StudyCommand.Resume.class,
        StudyCommand.Stop.class})
final class StudyCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (list, pause, resume, stop)");
  }

  /** Where the coordinator is and who the operator is. */
  static final class Operator {
    @Option(names = "--kit", paramLabel = "DIR", defaultValue = "kits/operator",
        description = "The operator kit from `cloister provision` (operator.crt, operator.key, ca.crt, operator.yaml); "
            + "default ${DEFAULT-VALUE}.")
    Path kit;

    @Option(names = "--coordinator", paramLabel = "HOST:PORT",
        description = "The coordinator to ask (default: 'coordinator' in the kit's operator.yaml).")
    String coordinator;

    /** The address {@link #channel} dialled and where it came from (for messages). */
    String target;
    String targetSource;

    ManagedChannel channel(CommandLine cl) throws Exception {
      for (String f : new String[] {"operator.crt", "operator.key", "ca.crt"}) {
        if (!Files.isRegularFile(kit.resolve(f))) {
          throw new CommandLine.ParameterException(cl, "--kit: no " + f + " in " + kit
              + " (the operator kit `cloister provision` writes, kits/operator)");
        }
      }
      target = coordinator;
      targetSource = "--coordinator";
      if (target == null) {
        targetSource = kit.resolve("operator.yaml").toString();
        Path yaml = kit.resolve("operator.yaml");
        if (!Files.isRegularFile(yaml)) {
          throw new CommandLine.ParameterException(cl, "no --coordinator and no operator.yaml in " + kit);
        }
        try {
          target = org.cloister.simulations.config.StrictYaml.bind(yaml, org.cloister.cli.config.OperatorFile.class)
              .coordinator();
        } catch (IllegalArgumentException e) {
          throw new CommandLine.ParameterException(cl, e.getMessage());
        }
      }
      int colon = target.lastIndexOf(':');
      int port;
      try {
        port = Integer.parseInt(target.substring(colon + 1));
      } catch (RuntimeException e) {
        throw new CommandLine.ParameterException(cl, "--coordinator must be HOST:PORT, got '" + target + "'");
      }
      return NettyChannelBuilder.forAddress(target.substring(0, colon), port,
          MutualTls.channelCredentials(Pem.readCertificates(kit.resolve("operator.crt")),
              Pem.readPrivateKey(kit.resolve("operator.key")), Pem.readCertificate(kit.resolve("ca.crt")))).build();
    }
  }

  /** Runs {@code call} against the coordinator: one line on failure (exit 1), never a stack trace. */
  static int withAdmin(CommandLine cl, Operator op, String what, AdminCall call) throws Exception {
    ManagedChannel ch = op.channel(cl);
    try {
      call.run(StudyAdminGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS));
      return 0;
    } catch (StatusRuntimeException e) {
      String tls = MutualTls.handshakeFailure(e);
      boolean unreachable = tls == null && e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE;
      cl.getErr().println(what + ": " + (tls != null ? "the TLS handshake with the coordinator failed: " + tls
          : unreachable ? "no coordinator answers at " + op.target + " (from " + op.targetSource + "): is `cloister "
              + "coordinator start` running there, with an admin: section? (" + (e.getCause() != null
              && e.getCause().getMessage() != null ? e.getCause().getMessage() : e.getStatus().getDescription()) + ")"
          : e.getStatus().getCode() + (e.getStatus().getDescription() == null ? "" : ": " + e.getStatus().getDescription())));
      cl.getErr().flush();
      return 1;
    } finally {
      ch.shutdownNow();
    }
  }

  @FunctionalInterface
  interface AdminCall {
    void run(StudyAdminGrpc.StudyAdminBlockingStub stub) throws Exception;
  }

  /** The study as text: status, rounds, then a line per site. */
  static void print(PrintWriter out, OperatorStudyStatus s) {
    out.printf(Locale.ROOT, "study %s: %s%s; %d of %d rounds completed%n", s.getStudyId(), s.getStatus(),
        s.getDetail().isBlank() ? "" : " (" + s.getDetail() + ")", s.getCompletedRounds(), s.getTotalRounds());
    long missing = s.getSitesList().stream().filter(x -> !x.getJoined()).count();
    out.printf(Locale.ROOT, "  sites: %d joined, %d not joined%n", s.getSitesCount() - missing, missing);
    for (OperatorSiteState site : s.getSitesList()) {
      StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "  %-12s %s", site.getSiteId(),
          site.getJoined() ? "joined" : "NOT JOINED"));
      if (s.getBudgetsEnforced()) {
        b.append(String.format(Locale.ROOT, "  epsilon %.3f of %.3f (delta %.1e)", site.getEpsilonSpent(),
            site.getEpsilonCeiling(), site.getDelta()));
      }
      if (!site.getRefused().isBlank()) {
        b.append("  refused at the TLS handshake: ").append(site.getRefused());
      }
      out.println(b);
    }
    out.printf(Locale.ROOT, "  evaluation: %s%n", s.getEvaluation().isBlank() ? "no federated evaluation" : s.getEvaluation());
    for (org.cloister.protocol.v1.RoundEvaluation e : s.getEvaluationsList()) {
      out.printf(Locale.ROOT, "  %s model version %d (%d sites, about %.0f held-out examples): accuracy %s, AUC %s%n",
          e.getFinalEvaluation() ? "final evaluation of the final" : "round " + e.getRound() + " scored",
          e.getModelVersion(), e.getSites(), e.getExamples(), withSe(e.getAccuracy(), e.getAccuracySe()),
          withSe(e.getAuc(), e.getAucSe()));
    }
    new java.util.TreeMap<>(s.getFinalEvaluationSkippedMap()).forEach((site, why) ->
        out.printf(Locale.ROOT, "  final evaluation skipped at %s: %s%n", site, why));
    out.flush();
  }

  /** "0.812 ± 0.034 (noise SE)", or "n/a". */
  private static String withSe(double v, double se) {
    if (Double.isNaN(v)) {
      return "n/a";
    }
    return String.format(Locale.ROOT, "%.3f ± %s", v, Double.isNaN(se) ? "?" : String.format(Locale.ROOT, "%.3f", se));
  }

  /** The studies as JSON (NaN as null). */
  static String json(List<OperatorStudyStatus> studies) {
    com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
    com.fasterxml.jackson.databind.node.ObjectNode root = m.createObjectNode();
    com.fasterxml.jackson.databind.node.ArrayNode list = root.putArray("studies");
    for (OperatorStudyStatus s : studies) {
      com.fasterxml.jackson.databind.node.ObjectNode o = list.addObject();
      o.put("study", s.getStudyId()).put("status", s.getStatus()).put("detail", s.getDetail())
          .put("current_round", s.getCurrentRound()).put("completed_rounds", s.getCompletedRounds())
          .put("total_rounds", s.getTotalRounds()).put("budgets_enforced", s.getBudgetsEnforced());
      com.fasterxml.jackson.databind.node.ArrayNode sites = o.putArray("sites");
      for (OperatorSiteState site : s.getSitesList()) {
        com.fasterxml.jackson.databind.node.ObjectNode x = sites.addObject().put("site", site.getSiteId())
            .put("joined", site.getJoined());
        if (s.getBudgetsEnforced()) {
          number(x, "epsilon", site.getEpsilonSpent());
          number(x, "epsilon_ceiling", site.getEpsilonCeiling());
          number(x, "delta", site.getDelta());
        }
        if (!site.getRefused().isBlank()) {
          x.put("refused", site.getRefused());
        }
      }
      o.put("evaluation", s.getEvaluation().isBlank() ? "no federated evaluation" : s.getEvaluation());
      com.fasterxml.jackson.databind.node.ArrayNode evals = o.putArray("evaluations");
      for (org.cloister.protocol.v1.RoundEvaluation e : s.getEvaluationsList()) {
        com.fasterxml.jackson.databind.node.ObjectNode x = evals.addObject().put("round", e.getRound())
            .put("model_version", e.getModelVersion()).put("sites", e.getSites());
        number(x, "examples", e.getExamples());
        number(x, "accuracy", e.getAccuracy());
        number(x, "accuracy_se", e.getAccuracySe());
        number(x, "auc", e.getAuc());
        number(x, "auc_se", e.getAucSe());
        x.put("final", e.getFinalEvaluation());
      }
      o.putPOJO("final_evaluation_skipped", new java.util.TreeMap<>(s.getFinalEvaluationSkippedMap()));
    }
    try {
      return m.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void number(com.fasterxml.jackson.databind.node.ObjectNode o, String key, double v) {
    if (Double.isFinite(v)) {
      o.put(key, v);
    } else {
      o.putNull(key);
    }
  }

  /** Prints the studies as text, or as JSON with {@code --json}. */
  static void printAll(PrintWriter out, List<OperatorStudyStatus> studies, boolean json) {
    if (json) {
      out.println(json(studies));
      out.flush();
    } else {
      studies.forEach(s -> print(out, s));
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "Lists the coordinator's studies with their status, rounds, sites and budget state.")
  static final class ListStudies implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;
    @CommandLine.Mixin
    Operator op;
    @Option(names = "--json", description = "Print JSON (per-round accuracy and AUC with their noise standard errors).")
    boolean json;

    @Override
    public Integer call() throws Exception {
      return withAdmin(spec.commandLine(), op, "study list", stub -> printAll(spec.commandLine().getOut(),
          stub.listStudies(ListStudiesRequest.getDefaultInstance()).getStudiesList(), json));
    }
  }

  abstract static class Control implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;
    @CommandLine.Mixin
    Operator op;

    @Parameters(index = "0", paramLabel = "STUDY", description = "The study's id.")
    String study;

    @Option(names = "--reason", paramLabel = "TEXT", defaultValue = "",
        description = "Why (recorded in the study's status and the coordinator's log).")
    String reason;

    abstract ControlStudyRequest.Action action();

    @Override
    public Integer call() throws Exception {
      String name = "study " + action().name().toLowerCase(Locale.ROOT);
      return withAdmin(spec.commandLine(), op, name, stub -> {
        var state = stub.controlStudy(ControlStudyRequest.newBuilder().setStudyId(study).setAction(action())
            .setReason(reason).build());
        if (action() == ControlStudyRequest.Action.STOP && !state.getStatus().startsWith("finished")) {
          // the engine ends the study once its open round (if any) closes: the status below is as of the request
          spec.commandLine().getOut().printf("study %s: stop requested%s: the open round, if any, closes with the updates it"
              + " has, then the study ends for good (`cloister status` shows it finished)%n", study,
              reason.isBlank() ? "" : " (" + reason + ")");
        }
        print(spec.commandLine().getOut(), state);
      });
    }
  }

  @Command(name = "pause", mixinStandardHelpOptions = true,
      description = "Pauses the study before its next round (an open round completes first); the coordinator keeps serving.")
  static final class Pause extends Control {
    @Override
    ControlStudyRequest.Action action() {
      return ControlStudyRequest.Action.PAUSE;
    }
  }

  @Command(name = "resume", mixinStandardHelpOptions = true,
      description = "Resumes a paused study (paused by an operator, or on quorum or budget: the round is tried again).")
  static final class Resume extends Control {
    @Override
    ControlStudyRequest.Action action() {
      return ControlStudyRequest.Action.RESUME;
    }
  }

  @Command(name = "stop", mixinStandardHelpOptions = true,
      description = "Ends the study for good: the open round closes with the updates it has; sites are told it ended.")
  static final class Stop extends Control {
    @Override
    ControlStudyRequest.Action action() {
      return ControlStudyRequest.Action.STOP;
    }
  }


  /** {@code cloister status}: the same view as {@code study list}. */
  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "The running coordinator's studies: status, current round, joined and missing sites, budget state, per-round accuracy/AUC.")
  static final class Status implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;
    @CommandLine.Mixin
    Operator op;
    @Option(names = "--json", description = "Print JSON (per-round accuracy and AUC with their noise standard errors).")
    boolean json;

    @Override
    public Integer call() throws Exception {
      return withAdmin(spec.commandLine(), op, "status", stub -> printAll(spec.commandLine().getOut(),
          stub.listStudies(ListStudiesRequest.getDefaultInstance()).getStudiesList(), json));
    }
  }
}
