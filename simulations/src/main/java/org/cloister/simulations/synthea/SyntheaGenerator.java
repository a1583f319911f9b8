package org.cloister.simulations.synthea;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Generates a multi-hospital Synthea cohort: one run of the Synthea generator per site, each with
 * its own seed and its own state and city, so the hospitals differ naturally (demographics,
 * prevalence). Synthea runs as a separate Java process from {@code syntheaLib} (the jars that the
 * {@code synthea-generator} module copies to its {@code target/lib}); nothing is downloaded.
 *
 * <p>Each site folder gets a {@code cohort.properties} recording how it was generated; a site whose
 * record matches the request and whose CSV export is complete is reused, not regenerated.
 */
public final class SyntheaGenerator {
  private static final Logger log = LoggerFactory.getLogger(SyntheaGenerator.class);
  static final String RECORD = "cohort.properties";
  static final List<String> FILES = List.of("patients.csv", "conditions.csv", "observations.csv");

  /** Default hospitals' places: different states and cities give different populations. */
  public static final List<String> DEFAULT_LOCATIONS = List.of("Massachusetts:Boston", "California:Los Angeles",
      "Texas:Houston", "Florida:Miami", "Ohio:Columbus", "Washington:Seattle", "Georgia:Atlanta", "Illinois:Chicago",
      "Arizona:Phoenix", "New York:Buffalo");

  /**
   * A request.
   *
   * @param locations {@code State:City} (or {@code State}) per site, cycled when there are more sites
   * @param minAge    youngest patient age in years, {@code maxAge} the oldest
   */
  public record Request(int sites, int patientsPerSite, long seed, List<String> locations, int minAge, int maxAge, Path outDir) {
    public Request {
      if (sites < 1) {
        throw new IllegalArgumentException("--sites must be >= 1, got " + sites);
      }
      if (patientsPerSite < 1) {
        throw new IllegalArgumentException("--patients must be >= 1, got " + patientsPerSite);
      }
      if (minAge < 0 || maxAge < minAge || maxAge > 140) {
        throw new IllegalArgumentException("--ages must be MIN-MAX with 0 <= MIN <= MAX <= 140, got " + minAge + "-" + maxAge);
      }
      locations = List.copyOf(locations.isEmpty() ? DEFAULT_LOCATIONS : locations);
      for (String l : locations) {
        if (l.isBlank() || l.split(":", -1).length > 2 || l.startsWith(":")) {
          throw new IllegalArgumentException("--locations: '" + l + "' is not STATE or STATE:CITY");
        }
      }
    }

    String location(int site) {
      return locations.get(site % locations.size());
    }

    long seed(int site) {
      return seed + 1_000L * site;
    }
  }

  /** What happened to one site. */
  public record SiteOutcome(String site, Path dir, boolean reused, long patients) {
  }

  private final Path syntheaLib;
  private final String java;

  /** @param syntheaLib folder with the Synthea jar and its dependencies */
  public SyntheaGenerator(Path syntheaLib) {
    this.syntheaLib = syntheaLib;
    this.java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  public List<SiteOutcome> generate(Request req, java.util.function.Consumer<String> progress) throws IOException, InterruptedException {
    Files.createDirectories(req.outDir());
    List<SiteOutcome> out = new ArrayList<>();
    for (int s = 0; s < req.sites(); s++) {
      String site = "site-" + (s + 1);
      Path dir = req.outDir().resolve(site);
      Properties want = record(req, s);
      if (cached(dir, want)) {
        progress.accept(site + ": reusing the cached cohort in " + dir);
        out.add(new SiteOutcome(site, dir, true, countRows(dir.resolve("csv/patients.csv"))));
        continue;
      }
      requireLib();
      deleteRecursively(dir);
      Files.createDirectories(dir);
      progress.accept(String.format("%s: generating %d patients in %s (seed %d)...", site, req.patientsPerSite(),
          req.location(s).replace(':', '/'), req.seed(s)));
      run(req, s, dir);
      for (String f : FILES) {
        if (!Files.isRegularFile(dir.resolve("csv").resolve(f))) {
          throw new IOException("Synthea did not write csv/" + f + " for " + site + " (see " + dir.resolve("synthea.log") + ")");
        }
      }
      // the exporter writes every table; keep the cache to the three a simulation reads
      try (Stream<Path> files = Files.list(dir.resolve("csv"))) {
        for (Path f : files.filter(f -> !FILES.contains(f.getFileName().toString())).toList()) {
          Files.delete(f);
        }
      }
      try (OutputStream o = Files.newOutputStream(dir.resolve(RECORD))) {
        want.store(o, "how this cohort was generated (cloister synthea); a matching request reuses it");
      }
      out.add(new SiteOutcome(site, dir, false, countRows(dir.resolve("csv/patients.csv"))));
    }
    return out;
  }

  /** The Synthea command line of site {@code s}. */
  List<String> command(Request req, int s, Path dir) {
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx2g", "-cp", syntheaLib.toAbsolutePath() + "/*", "App",
        "-s", Long.toString(req.seed(s)), "-cs", Long.toString(req.seed(s)), "-p", Integer.toString(req.patientsPerSite()),
        "-a", req.minAge() + "-" + req.maxAge(),
        "--exporter.baseDirectory", dir.toAbsolutePath().toString(),
        "--exporter.csv.export", "true",
        "--exporter.csv.included_files", String.join(",", FILES),
        "--exporter.fhir.export", "false",
        "--exporter.hospital.fhir.export", "false",
        "--exporter.practitioner.fhir.export", "false",
        "--generate.only_alive_patients", "true"));
    String[] place = req.location(s).split(":", 2);
    cmd.add(place[0]);
    if (place.length == 2 && !place[1].isBlank()) {
      cmd.add(place[1]);
    }
    return cmd;
  }

  private void run(Request req, int s, Path dir) throws IOException, InterruptedException {
    Path logFile = dir.resolve("synthea.log");
    Process p = new ProcessBuilder(command(req, s, dir)).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(logFile.toFile()).start();
    if (!p.waitFor(60, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IOException("Synthea did not finish within 60 minutes (see " + logFile + ")");
    }
    if (p.exitValue() != 0) {
      throw new IOException("Synthea exited with " + p.exitValue() + " (see " + logFile + ")");
    }
    log.info("site {}: Synthea finished", s + 1);
  }

  private void requireLib() {
    boolean ok;
    try (Stream<Path> s = Files.isDirectory(syntheaLib) ? Files.list(syntheaLib) : Stream.empty()) {
      ok = s.anyMatch(p -> p.getFileName().toString().startsWith("synthea-"));
    } catch (IOException e) {
      ok = false;
    }
    if (!ok) {
      throw new IllegalStateException("the Synthea generator is not in " + syntheaLib
          + ": build it with `./mvnw -pl synthea-generator package` (or point --synthea-lib at its lib folder)");
    }
  }

  static Properties record(Request req, int s) {
    Properties p = new Properties();
    p.setProperty("generator", "org.mitre.synthea:synthea");
    p.setProperty("seed", Long.toString(req.seed(s)));
    p.setProperty("patients", Integer.toString(req.patientsPerSite()));
    p.setProperty("location", req.location(s));
    p.setProperty("ages", req.minAge() + "-" + req.maxAge());
    p.setProperty("files", String.join(",", FILES));
    return p;
  }

  static boolean cached(Path dir, Properties want) throws IOException {
    Path rec = dir.resolve(RECORD);
    if (!Files.isRegularFile(rec)) {
      return false;
    }
    Properties have = new Properties();
    try (InputStream in = Files.newInputStream(rec)) {
      have.load(in);
    }
    if (!have.equals(want)) {
      return false;
    }
    return FILES.stream().allMatch(f -> Files.isRegularFile(dir.resolve("csv").resolve(f)));
  }

  private static long countRows(Path csv) throws IOException {
    try (Stream<String> lines = Files.lines(csv, StandardCharsets.UTF_8)) {
      return Math.max(0, lines.filter(l -> !l.isEmpty()).count() - 1);
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
