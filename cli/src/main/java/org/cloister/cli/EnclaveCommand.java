package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.enclave.EnclaveMain;
import org.cloister.enclave.ImageMeasurement;
import org.cloister.enclave.runtime.ImageInventory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cloister enclave ...}: the secure aggregator enclave process and its measurements. */
@Command(name = "enclave", mixinStandardHelpOptions = true,
    description = "The secure aggregator enclave: run it, or compute the PCRs a consortium expects of it.",
    subcommands = {EnclaveCommand.Run.class, EnclaveCommand.Measure.class})
final class EnclaveCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (run, measure)");
  }

  @Command(name = "run", mixinStandardHelpOptions = true,
      description = {"Runs the secure aggregator enclave process in this JVM (hosts normally start it from the image).",
          "Runs the enclave process in this JVM (hosts normally start it from the enclave image with java "
          + "--add-modules jdk.incubator.vector -cp cloister-enclave.jar org.cloister.enclave.EnclaveMain).",
          "Options: --config FILE --policy FILE --broker HOST:PORT [--listen 127.0.0.1:0] --platform simulated "
          + "--dev-root-cert FILE --dev-root-key FILE [--exit-with-parent]"})
  static final class Run implements Callable<Integer> {
    @CommandLine.Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
      return EnclaveMain.run(args.toArray(String[]::new), System.out, System.err);
    }
  }

  @Command(name = "measure", mixinStandardHelpOptions = true,
      description = {"Prints the PCR0..2 a consortium expects of an enclave on the simulated platform.",
          "Prints PCR0..2 of an enclave on the simulated platform: SHA-384 of the image jar, of the "
          + "configuration file and of the aggregation policy file (after checking both parse), and what the "
          + "image contains: its size, its class count and the third-party artifacts (with versions) of the bill "
          + "of materials inside it."})
  static final class Measure implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--image", required = true, paramLabel = "JAR", description = "The enclave image jar.")
    Path image;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "Enclave configuration (JSON).")
    Path config;

    @Option(names = "--policy", required = true, paramLabel = "FILE", description = "Aggregation policy (JSON).")
    Path policy;

    @Option(names = "--json", description = "Print the PCRs as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      CommandLine cl = spec.commandLine();
      byte[] c;
      byte[] p;
      try {
        c = Files.readAllBytes(config);
        p = Files.readAllBytes(policy);
        if (!Files.exists(image)) {
          throw new NoSuchFileException(image.toString());
        }
      } catch (NoSuchFileException e) {
        throw new CommandLine.ParameterException(cl, "no such file: " + e.getFile());
      }
      try {
        EnclaveConfig.parse(c);
        AggregationPolicy.parse(p);
      } catch (IllegalArgumentException e) {
        cl.getErr().println(e.getMessage());
        cl.getErr().flush();
        return 1;
      }
      ImageInventory inventory;
      try {
        inventory = ImageInventory.of(image);
      } catch (java.io.IOException e) {
        cl.getErr().println(e.getMessage());
        cl.getErr().flush();
        return 1;
      }
      Map<Integer, byte[]> pcrs = ImageMeasurement.pcrs(image, c, p);
      Map<String, String> hex = new LinkedHashMap<>();
      for (int i = 0; i <= 2; i++) {
        hex.put(String.valueOf(i), HexFormat.of().formatHex(pcrs.get(i)));
      }
      if (json) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("pcrs", hex);
        out.put("image", ImageReport.json(inventory, Map.of()));
        cl.getOut().println(new ObjectMapper().writeValueAsString(out));
      } else {
        hex.forEach((i, v) -> cl.getOut().println("PCR" + i + " " + v));
        cl.getOut().printf(java.util.Locale.ROOT, "image %d bytes, %d classes (%d entries)%n", inventory.sizeBytes(),
            inventory.classCount(), inventory.entryCount());
        ImageReport.printThirdParty(cl.getOut(), inventory);
      }
      cl.getOut().flush();
      return 0;
    }
  }
}
