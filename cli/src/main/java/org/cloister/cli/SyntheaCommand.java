package org.cloister.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.cloister.simulations.synthea.SyntheaGenerator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cloister synthea}: a multi-hospital synthetic cohort from the Synthea generator, one run per site. */
@Command(name = "synthea", mixinStandardHelpOptions = true,
    description = {"Generates a synthetic multi-hospital cohort with Synthea, one seed and city per hospital (cached).",
        "Generates a synthetic multi-hospital cohort with Synthea (org.mitre.synthea, Apache 2.0): one run "
        + "per site, each with its own seed and its own state and city, so the hospitals differ naturally.",
        "Writes DIR/site-N/csv/ (patients.csv, conditions.csv, observations.csv). A site already generated "
        + "with the same settings is reused.",
        "Then: cloister simulate --dataset synthea:DIR --partition by-site --sites N --outcome diabetes "
        + "--epsilon 3"})
final class SyntheaCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--sites", paramLabel = "N", defaultValue = "3", description = "Hospitals (default ${DEFAULT-VALUE}).")
  int sites;

  @Option(names = "--patients", paramLabel = "P", defaultValue = "200", description = "Living patients per hospital (default ${DEFAULT-VALUE}).")
  int patients;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "Base seed; site i uses SEED + 1000 i (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--locations", paramLabel = "STATE[:CITY]", split = ",",
      description = "Each site's place, cycled (default: Massachusetts:Boston, California:Los Angeles, Texas:Houston, ...).")
  List<String> locations = new ArrayList<>();

  @Option(names = "--ages", paramLabel = "MIN-MAX", defaultValue = "18-90", description = "Age range of the patients (default ${DEFAULT-VALUE}).")
  String ages;

  @Option(names = "--out", paramLabel = "DIR", required = true, description = "Cohort folder.")
  Path out;

  @Option(names = "--synthea-lib", paramLabel = "DIR",
      description = "Folder with the Synthea jars (default: $CLOISTER_SYNTHEA_LIB, else synthea-generator/target/lib of this build).")
  Path syntheaLib;

  @Override
  public Integer call() throws Exception {
    CommandLine cl = spec.commandLine();
    SyntheaGenerator.Request req;
    try {
      String[] a = ages.split("-");
      if (a.length != 2) {
        throw new IllegalArgumentException("--ages must be MIN-MAX, got '" + ages + "'");
      }
      int min;
      int max;
      try {
        min = Integer.parseInt(a[0].trim());
        max = Integer.parseInt(a[1].trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--ages must be MIN-MAX in whole years, got '" + ages + "'");
      }
      req = new SyntheaGenerator.Request(sites, patients, seed, locations, min, max, out);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
    Path lib = syntheaLib != null ? syntheaLib : defaultLib();
    var outcomes = new SyntheaGenerator(lib).generate(req, line -> {
      cl.getOut().println(line);
      cl.getOut().flush();
    });
    for (var o : outcomes) {
      cl.getOut().printf("  %-8s %5d patients%s%n", o.site(), o.patients(), o.reused() ? " (cached)" : "");
    }
    cl.getOut().printf("Cohort: %s%nNext: ./cloister simulate --dataset synthea:%s --partition by-site --sites %d --outcome diabetes --epsilon 3%n",
        out, out, sites);
    cl.getOut().flush();
    return 0;
  }

  /** $CLOISTER_SYNTHEA_LIB, else the synthea-generator module's lib folder next to this build's cli module. */
  static Path defaultLib() {
    String env = System.getenv("CLOISTER_SYNTHEA_LIB");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    try {
      Path here = Path.of(SyntheaCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      // cli/target/cloister.jar or cli/target/classes: three levels up is the project root
      Path root = here.getParent().getParent().getParent();
      Path lib = root.resolve("synthea-generator/target/lib");
      return lib;
    } catch (Exception e) {
      return Path.of("synthea-generator/target/lib");
    }
  }
}
