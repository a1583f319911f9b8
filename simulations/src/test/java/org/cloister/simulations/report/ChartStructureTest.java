package org.cloister.simulations.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import org.cloister.simulations.Sweep;
import org.cloister.simulations.SweepAxis;
import org.cloister.simulations.SyntheticResults;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/**
 * The report's charts, parsed as SVG: ticks with values on both axes, whole-number round ticks,
 * accuracy and AUC axes within [0, 1], the legend to the right of the plot area and wide enough for
 * its names, number cells that do not wrap, and the configuration as the user wrote it.
 */
class ChartStructureTest {

  record Chart(double plotLeft, double plotRight, double width, List<Double> xTicks, List<Double> yTicks,
               double legendX, List<Element> legendTexts) {
  }

  static Chart parse(String html, String id) throws Exception {
    int start = html.indexOf("<svg id=\"" + id + "\"");
    assertThat(start).as("chart " + id).isNotNegative();
    String svg = html.substring(start, html.indexOf("</svg>", start) + "</svg>".length());
    Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new InputSource(new StringReader(svg)));
    Element root = d.getDocumentElement();
    Element plot = null;
    NodeList rects = root.getElementsByTagName("rect");
    for (int i = 0; i < rects.getLength(); i++) {
      Element r = (Element) rects.item(i);
      if (r.getAttribute("class").equals("plot")) {
        plot = r;
      }
    }
    assertThat(plot).as(id + ": the plot area").isNotNull();
    double left = Double.parseDouble(plot.getAttribute("x"));
    double right = left + Double.parseDouble(plot.getAttribute("width"));
    List<Double> xs = new ArrayList<>();
    List<Double> ys = new ArrayList<>();
    Element legend = null;
    NodeList texts = root.getElementsByTagName("text");
    for (int i = 0; i < texts.getLength(); i++) {
      Element t = (Element) texts.item(i);
      if (t.getAttribute("class").equals("tick x")) {
        assertThat(t.getTextContent()).isEqualTo(t.getAttribute("data-value")).isNotBlank();
        xs.add(Double.parseDouble(t.getAttribute("data-value")));
      } else if (t.getAttribute("class").equals("tick y")) {
        assertThat(t.getTextContent()).isEqualTo(t.getAttribute("data-value")).isNotBlank();
        ys.add(Double.parseDouble(t.getAttribute("data-value")));
      }
    }
    NodeList groups = root.getElementsByTagName("g");
    for (int i = 0; i < groups.getLength(); i++) {
      if (((Element) groups.item(i)).getAttribute("class").equals("legend")) {
        legend = (Element) groups.item(i);
      }
    }
    assertThat(legend).as(id + ": the legend").isNotNull();
    List<Element> legendTexts = new ArrayList<>();
    NodeList lt = legend.getElementsByTagName("text");
    for (int i = 0; i < lt.getLength(); i++) {
      legendTexts.add((Element) lt.item(i));
    }
    return new Chart(left, right, Double.parseDouble(root.getAttribute("width")), xs, ys,
        Double.parseDouble(legend.getAttribute("data-x")), legendTexts);
  }

  private static void legendOutsideThePlot(Chart c) {
    assertThat(c.legendX()).isGreaterThan(c.plotRight());
    for (Element t : c.legendTexts()) {
      double x = Double.parseDouble(t.getAttribute("x"));
      assertThat(x).isGreaterThan(c.plotRight());
      // 11 px sans-serif: at most ~6.5 px a character; the chart is wide enough for the whole name
      assertThat(x + t.getTextContent().length() * 6.5).as("legend '%s' inside the chart", t.getTextContent())
          .isLessThanOrEqualTo(c.width());
    }
  }

  @Test
  void roundAxesHaveWholeNumberTicksAndAccuracyStaysWithinZeroAndOne(@TempDir Path dir) throws Exception {
    // three rounds (a fitted axis would tick 1, 1.5, 2, ...) and AUC 1.0 (a padded axis would pass 1)
    SimulationResult r = SyntheticResults.study(3, 3, 1.0, 0.99, dir);
    String html = new HtmlReport().study(r);
    Chart utility = parse(html, "utility-chart");
    assertThat(utility.xTicks()).isNotEmpty().allSatisfy(v -> assertThat(v % 1).isZero()).contains(1.0, 2.0, 3.0);
    assertThat(utility.yTicks()).hasSizeGreaterThanOrEqualTo(3).allSatisfy(v -> assertThat(v).isBetween(0.0, 1.0));
    legendOutsideThePlot(utility);
    Chart eps = parse(html, "epsilon-chart");
    assertThat(eps.xTicks()).isNotEmpty().allSatisfy(v -> assertThat(v % 1).isZero());
    assertThat(eps.yTicks()).hasSizeGreaterThanOrEqualTo(3).allSatisfy(v -> assertThat(v).isGreaterThanOrEqualTo(0.0));
    legendOutsideThePlot(eps);
    // forty rounds: whole-number ticks, not one per round
    Chart many = parse(new HtmlReport().study(SyntheticResults.study(3, 40, 1.0, 0.9, dir)), "utility-chart");
    assertThat(many.xTicks()).hasSizeBetween(3, 9).allSatisfy(v -> assertThat(v % 1).isZero());
  }

  @Test
  void sweepLegendsWithLongNamesStayOutsideThePlotAndInsideTheChart(@TempDir Path dir) throws Exception {
    Sweep s = new Sweep(List.of(SweepAxis.parse("epsilon=0.5,1,2"), SweepAxis.parse("alpha=0.1,100")));
    List<Sweep.Point> points = s.run(SimulationConfig.builder().outDir(dir), cfg ->
        SyntheticResults.study(3, 4, cfg.dp().epsilon(), 0.97 + 0.01 * Math.min(2, cfg.dp().epsilon()), cfg.outDir()));
    String html = new HtmlReport().sweep(s, points);
    Chart curves = parse(html, "sweep-rounds-chart");
    assertThat(curves.legendTexts()).hasSize(6);
    legendOutsideThePlot(curves);
    assertThat(curves.xTicks()).allSatisfy(v -> assertThat(v % 1).isZero());
    assertThat(curves.yTicks()).allSatisfy(v -> assertThat(v).isBetween(0.0, 1.0));
    Chart pu = parse(html, "privacy-utility-chart");
    legendOutsideThePlot(pu);
    assertThat(pu.yTicks()).allSatisfy(v -> assertThat(v).isBetween(0.0, 1.0));
  }

  @Test
  void numberCellsDoNotWrapAndTheConfigurationIsShownAsWritten(@TempDir Path dir) {
    SimulationResult r = SyntheticResults.study(3, 3, 1.0, 0.9, dir);
    String written = "cloister simulate study.yaml --epsilon 1\n--- study.yaml\nsites: 3\nrounds: 3   # short <test>\n";
    String html = new HtmlReport().study(r, written);
    assertThat(html).contains("#rounds-table td,#sites-table td,#sweep-table td{white-space:nowrap}");
    assertThat(html).contains("<pre id=\"config-as-written\">cloister simulate study.yaml --epsilon 1\n--- study.yaml\n"
        + "sites: 3\nrounds: 3   # short &lt;test&gt;\n</pre>");
    assertThat(html.indexOf("config-as-written")).isLessThan(html.indexOf("config-table"));
  }
}
