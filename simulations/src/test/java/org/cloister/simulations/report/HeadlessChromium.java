package org.cloister.simulations.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Headless Chromium laying out an HTML page, measured by {@code measure.js} (injected here only: the page's own
 * policy allows no script). Shared by the {@code browser}-tagged tests of the simulation reports
 * ({@code ReportsInChromiumTest}) and of the budget page ({@code cli}'s {@code BudgetPageInChromiumTest}, through
 * this module's test-jar).
 */
public final class HeadlessChromium {
  private HeadlessChromium() {
  }

  /** The page as Chromium laid it out, measured: {"charts": [...], "cells": [...]}; {@code file} is where it is written. */
  public static JsonNode measure(String html, Path file) throws Exception {
    String chromium = chromium();
    String script;
    try (InputStream in = HeadlessChromium.class.getResourceAsStream("measure.js")) {
      script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    String page = html.replaceAll("<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "")
        .replace("</body>", "<script>" + script + "</script></body>");
    Files.writeString(file, page, StandardCharsets.UTF_8);
    Path out = file.resolveSibling(file.getFileName() + ".dom");
    Path err = file.resolveSibling(file.getFileName() + ".stderr");
    Path profile = Files.createTempDirectory(file.getParent(), "chromium-profile");
    Process p = new ProcessBuilder(chromium, "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run",
        "--window-size=800,1000", "--user-data-dir=" + profile, "--dump-dom", file.toUri().toString())
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish within 120 s");
    }
    assertThat(p.exitValue()).as(Files.readString(err)).isZero();
    String dom = Files.readString(out);
    int start = dom.lastIndexOf("<pre id=\"measured\">");
    assertThat(start).as("the measuring script ran (stderr: %s)", Files.readString(err)).isNotNegative();
    String json = dom.substring(start + "<pre id=\"measured\">".length(), dom.indexOf("</pre>", start))
        .replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    return new ObjectMapper().readTree(json);
  }

  /** Chromium on the PATH ({@code chromium}, {@code chromium-browser} or {@code google-chrome}). */
  public static String chromium() {
    for (String name : new String[] {"chromium", "chromium-browser", "google-chrome"}) {
      for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
        File f = new File(dir, name);
        if (f.canExecute()) {
          return f.getPath();
        }
      }
    }
    throw new AssertionError("-Pbrowser needs headless Chromium on the PATH (Debian: apt-get install chromium)");
  }
}
