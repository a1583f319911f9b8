package org.cloister.simulations;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A grid of simulated studies: the cartesian product of its axes applied to a base scenario. Each
 * point runs as its own study in {@code OUT/NAME-VALUE_...} and the sweep writes a
 * privacy-utility table ({@code sweep.csv}, {@code sweep.json}) in {@code OUT}.
 */
public record Sweep(List<SweepAxis> axes) {

  /** One study of the grid and its outcome. */
  public record Point(Map<String, String> values, SimulationResult result) {
    /** The largest epsilon any site spent (infinite without DP). */
    public double maxEpsilon() {
      return result.sites().stream().mapToDouble(SiteReport::epsilon).max().orElse(Double.NaN);
    }
  }

  /** Runs one configured study. */
  @FunctionalInterface
  public interface Runner {
    SimulationResult run(SimulationConfig cfg) throws Exception;
  }

  public Sweep {
    axes = List.copyOf(axes);
    if (axes.isEmpty()) {
      throw new IllegalArgumentException("a sweep needs at least one --sweep NAME=V1,V2,...");
    }
    if (axes.stream().map(SweepAxis::name).distinct().count() != axes.size()) {
      throw new IllegalArgumentException("--sweep: a parameter is given twice");
    }
    if (axes.stream().anyMatch(a -> a.name().equals("epsilon")) && axes.stream().anyMatch(a -> a.name().equals("noise_multiplier"))) {
      throw new IllegalArgumentException("--sweep: epsilon and noise_multiplier cannot both be swept");
    }
  }

  /** The grid's configurations in order (the last axis varies fastest), each with its own output folder. */
  public List<Map.Entry<Map<String, String>, SimulationConfig>> configs(SimulationConfig.Builder base) {
    SimulationConfig template = base.build();
    List<Map<String, String>> points = new ArrayList<>();
    points.add(new LinkedHashMap<>());
    for (SweepAxis a : axes) {
      List<Map<String, String>> next = new ArrayList<>();
      for (Map<String, String> p : points) {
        for (String v : a.values()) {
          Map<String, String> q = new LinkedHashMap<>(p);
          q.put(a.name(), v);
          next.add(q);
        }
      }
      points = next;
    }
    List<Map.Entry<Map<String, String>, SimulationConfig>> out = new ArrayList<>();
    for (Map<String, String> p : points) {
      SimulationConfig.Builder b = template.toBuilder();
      for (SweepAxis a : axes) {
        a.apply(b, p.get(a.name()));
      }
      StringBuilder dir = new StringBuilder();
      p.forEach((k, v) -> dir.append(dir.length() == 0 ? "" : "_").append(k).append('-').append(v));
      b.outDir(template.outDir().resolve(dir.toString()));
      out.add(Map.entry(java.util.Collections.unmodifiableMap(p), b.build()));
    }
    return out;
  }

  /** Runs every point with {@code runner}, in order. */
  public List<Point> run(SimulationConfig.Builder base, Runner runner) throws Exception {
    List<Point> points = new ArrayList<>();
    for (Map.Entry<Map<String, String>, SimulationConfig> e : configs(base)) {
      Map<String, String> ordered = new LinkedHashMap<>();
      axes.forEach(a -> ordered.put(a.name(), e.getKey().get(a.name())));
      points.add(new Point(ordered, runner.run(e.getValue())));
    }
    return points;
  }

  /** The privacy-utility table as rows of named cells (axes first). */
  public List<Map<String, Object>> table(List<Point> points) {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (Point p : points) {
      Map<String, Object> row = new LinkedHashMap<>(p.values());
      SimulationResult r = p.result();
      row.put("accuracy", finite(r.finalMetrics().accuracy()));
      row.put("auc", finite(r.finalMetrics().auc()));
      row.put("loss", finite(r.finalMetrics().logLoss()));
      row.put("max_epsilon", finite(p.maxEpsilon()));
      row.put("delta", r.config().dp().enabled() ? r.config().dp().delta() : null);
      row.put("noise_multiplier", finite(r.noiseMultiplier()));
      row.put("status", r.status());
      row.put("wall_s", r.wallMillis() / 1000.0);
      row.put("out", r.config().outDir().toString());
      rows.add(row);
    }
    return rows;
  }

  /** Writes {@code sweep.json} and {@code sweep.csv} into {@code dir}; returns the CSV's path. */
  public Path write(List<Point> points, Path dir) throws IOException {
    Files.createDirectories(dir);
    List<Map<String, Object>> rows = table(points);
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("axes", axes.stream().map(a -> Map.of("name", a.name(), "values", a.values())).toList());
    root.put("points", rows);
    Files.writeString(dir.resolve("sweep.json"),
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root) + "\n", StandardCharsets.UTF_8);
    StringBuilder csv = new StringBuilder();
    if (!rows.isEmpty()) {
      csv.append(String.join(",", rows.get(0).keySet())).append('\n');
      for (Map<String, Object> row : rows) {
        List<String> cells = new ArrayList<>();
        for (Object v : row.values()) {
          cells.add(v == null ? "" : v instanceof Double d ? String.format(Locale.ROOT, "%.6g", d) : csvCell(v.toString()));
        }
        csv.append(String.join(",", cells)).append('\n');
      }
    }
    Path out = dir.resolve("sweep.csv");
    Files.writeString(out, csv.toString(), StandardCharsets.UTF_8);
    return out;
  }

  private static String csvCell(String s) {
    return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
  }

  private static Double finite(double v) {
    return Double.isFinite(v) ? v : null;
  }
}
