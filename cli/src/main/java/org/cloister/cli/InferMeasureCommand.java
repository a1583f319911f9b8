package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.cloister.consortium.inference.InferenceDeployment;
import org.cloister.enclave.runtime.CodeMeasurement;
import org.cloister.enclave.runtime.ImageInventory;
import org.cloister.inference.enclave.InferenceConfig;
import org.cloister.inference.enclave.InferenceMeasurement;
import org.cloister.inference.enclave.InferencePolicy;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code cloister infer measure}: the inference enclave's PCR0 (and, given its configuration and
 * policy, PCR1 and PCR2) on the simulated platform, and what its image contains for review: size,
 * class count and the third-party artifacts of the bill of materials inside it.
 */
@Command(name = "measure", mixinStandardHelpOptions = true,
    description = {"Prints the inference enclave's PCRs on the simulated platform and what its image contains.",
        "Prints PCR0 of the inference enclave (the tree digest of its image directory, which holds "
        + InferenceMeasurement.IMAGE_JAR + "), PCR1 and PCR2 when --config and --policy are given (after checking "
        + "both parse), and the image's size, class count and third-party artifacts (with versions) from the bill of "
        + "materials inside it."})
final class InferMeasureCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--image", paramLabel = "DIR",
      description = "The inference image directory (default: the one this distribution ships, cli/target/inference-enclave).")
  Path image;

  @Option(names = "--config", paramLabel = "FILE", description = "Inference enclave configuration (JSON), for PCR1.")
  Path config;

  @Option(names = "--policy", paramLabel = "FILE", description = "Inference policy (JSON), for PCR2.")
  Path policy;

  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    CommandLine cl = spec.commandLine();
    if ((config == null) != (policy == null)) {
      throw new CommandLine.ParameterException(cl, "--config and --policy go together (PCR1 and PCR2)");
    }
    Path dir = image != null ? image : InferenceDeployment.locateImage();
    if (dir == null) {
      throw new CommandLine.ParameterException(cl, "no inference image was built (./mvnw -pl cli -am package "
          + "-DskipTests); name one with --image DIR");
    }
    if (!InferenceMeasurement.isImage(dir)) {
      throw new CommandLine.ParameterException(cl, dir + " is not an inference image directory (it holds no "
          + InferenceMeasurement.IMAGE_JAR + ")");
    }
    Map<String, String> pcrs = new java.util.TreeMap<>();
    ImageInventory inventory;
    try {
      if (config != null) {
        byte[] c = read(cl, config);
        byte[] p = read(cl, policy);
        InferenceConfig.parse(c);
        InferencePolicy.parse(p);
        InferenceMeasurement.pcrs(dir, c, p).forEach((i, v) -> pcrs.put(String.valueOf(i), HexFormat.of().formatHex(v)));
      } else {
        pcrs.put("0", HexFormat.of().formatHex(CodeMeasurement.measure(dir)));
      }
      inventory = ImageInventory.of(dir.resolve(InferenceMeasurement.IMAGE_JAR));
    } catch (IllegalArgumentException | IOException e) {
      cl.getErr().println(e.getMessage());
      cl.getErr().flush();
      return 1;
    }
    List<String> files;
    try (var s = Files.list(dir)) {
      files = s.map(f -> f.getFileName().toString()).sorted().toList();
    }
    if (json) {
      Map<String, Object> head = new LinkedHashMap<>();
      head.put("directory", dir.toString());
      head.put("files", files);
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("pcrs", pcrs);
      out.put("image", ImageReport.json(inventory, head));
      cl.getOut().println(new ObjectMapper().writeValueAsString(out));
    } else {
      pcrs.forEach((i, v) -> cl.getOut().println("PCR" + i + " " + v));
      cl.getOut().printf(Locale.ROOT, "image %s (%s): %d bytes, %d classes (%d entries)%n", dir, String.join(", ", files),
          inventory.sizeBytes(), inventory.classCount(), inventory.entryCount());
      ImageReport.printThirdParty(cl.getOut(), inventory);
    }
    cl.getOut().flush();
    return 0;
  }

  private static byte[] read(CommandLine cl, Path f) throws IOException {
    if (!Files.isRegularFile(f)) {
      throw new CommandLine.ParameterException(cl, "no such file: " + f);
    }
    return Files.readAllBytes(f);
  }
}
