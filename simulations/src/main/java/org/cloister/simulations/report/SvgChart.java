package org.cloister.simulations.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A line chart as inline SVG, drawn in Java: no script, no stylesheet, no font or network
 * access, so the page opens offline in any browser. Points carry native tooltips ({@code <title>}).
 * The one chart helper of the simulation report and the budget report.
 */
public final class SvgChart {
  public static final String[] PALETTE = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
      "#7f7f7f", "#bcbd22", "#17becf"};
  /** The plot area's width; the legend takes what its longest name needs to the right of it. */
  private static final int PLOT_W = 510;
  private static final int H = 320;
  private static final int LEFT = 60;
  /** Legend: a swatch, a gap, then the name at about this many pixels per character (11 px sans-serif, generous). */
  private static final double CHAR_W = 7;
  private static final int TOP = 30;
  private static final int BOTTOM = 45;

  /** One line. {@code dashed} for reference lines such as a budget ceiling. */
  public record Series(String name, double[] x, double[] y, String color, boolean dashed, boolean markers) {
  }

  private final String id;
  private final String title;
  private final String xLabel;
  private final String yLabel;
  private final boolean logX;
  private final List<Series> series = new ArrayList<>();
  private double yMin = Double.NaN;
  private double yMax = Double.NaN;
  private double yLo = Double.NEGATIVE_INFINITY;
  private double yHi = Double.POSITIVE_INFINITY;
  private boolean integerX;

  public SvgChart(String id, String title, String xLabel, String yLabel, boolean logX) {
    this.id = id;
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
    this.logX = logX;
  }

  public SvgChart add(Series s) {
    series.add(s);
    return this;
  }

  /** Fixes the y range (otherwise it is fitted to the data). */
  public SvgChart yRange(double min, double max) {
    yMin = min;
    yMax = max;
    return this;
  }

  /**
   * Keeps the y axis within [lo, hi] (an accuracy or AUC axis within [0, 1]): the range is fitted to
   * the data, padded, and then clipped to the domain.
   */
  public SvgChart yDomain(double lo, double hi) {
    yLo = lo;
    yHi = hi;
    return this;
  }

  /** X ticks at whole numbers only (rounds). */
  public SvgChart integerX() {
    integerX = true;
    return this;
  }

  public String render() {
    double x0 = Double.POSITIVE_INFINITY;
    double x1 = Double.NEGATIVE_INFINITY;
    double y0 = Double.POSITIVE_INFINITY;
    double y1 = Double.NEGATIVE_INFINITY;
    for (Series s : series) {
      for (int i = 0; i < s.x().length; i++) {
        if (Double.isFinite(s.x()[i]) && Double.isFinite(s.y()[i]) && (!logX || s.x()[i] > 0)) {
          x0 = Math.min(x0, tx(s.x()[i]));
          x1 = Math.max(x1, tx(s.x()[i]));
          y0 = Math.min(y0, s.y()[i]);
          y1 = Math.max(y1, s.y()[i]);
        }
      }
    }
    int longest = 0;
    for (int k = 0; k < Math.min(series.size(), 13); k++) {
      longest = Math.max(longest, k == 12 ? 16 : series.get(k).name().length());
    }
    final int right = 32 + (int) Math.ceil(longest * CHAR_W) + 10;
    final int width = LEFT + PLOT_W + right;
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "<svg id=\"%s\" class=\"chart\" width=\"%d\" height=\"%d\" "
        + "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">%n", id, width, H, width, H, Html.esc(title)));
    b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"18\" font-size=\"14\" font-weight=\"bold\">%s</text>%n", LEFT, Html.esc(title)));
    if (x0 > x1) {
      b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">no data</text>%n</svg>%n", LEFT, H / 2));
      return b.toString();
    }
    if (!Double.isNaN(yMin)) {
      y0 = Math.min(y0, yMin);
      y1 = Math.max(y1, yMax);
    }
    if (x1 - x0 < 1e-12) {
      x0 -= 1;
      x1 += 1;
    }
    if (y1 - y0 < 1e-12) {
      y0 -= 0.5;
      y1 += 0.5;
    } else if (Double.isNaN(yMin)) {
      double pad = (y1 - y0) * 0.05;
      y0 -= pad;
      y1 += pad;
    }
    y0 = Math.max(y0, yLo);
    y1 = Math.min(y1, yHi);
    if (!(y1 > y0)) {
      y0 = yLo;
      y1 = yHi;
    }
    final double fx0 = x0, fx1 = x1, fy0 = y0, fy1 = y1;
    int pw = PLOT_W;
    int ph = H - TOP - BOTTOM;
    java.util.function.DoubleUnaryOperator px = v -> LEFT + (tx(v) - fx0) / (fx1 - fx0) * pw;
    java.util.function.DoubleUnaryOperator py = v -> TOP + ph - (v - fy0) / (fy1 - fy0) * ph;
    // axes and grid
    b.append(String.format(Locale.ROOT, "<rect class=\"plot\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>%n", LEFT, TOP, pw, ph));
    for (int i = 0; i <= 5; i++) {
      double v = y0 + (y1 - y0) * i / 5;
      double y = py.applyAsDouble(v);
      b.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
          + "<text class=\"tick y\" data-value=\"%s\" x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>%n",
          LEFT, LEFT + pw, y, y, num(v), LEFT - 4, y + 4, num(v)));
    }
    for (double v : logX ? logTicks(x0, x1) : integerX ? integerTicks(x0, x1) : xTicks(x0, x1)) {
      double x = LEFT + (v - x0) / (x1 - x0) * pw;
      String label = num(logX ? Math.pow(10, v) : v);
      b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#999\"/>"
          + "<text class=\"tick x\" data-value=\"%s\" x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>%n",
          x, x, TOP + ph, TOP + ph + 4, label, x, TOP + ph + 16, label));
    }
    b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%s</text>%n",
        LEFT + pw / 2, H - 8, Html.esc(xLabel + (logX ? " (log scale)" : ""))));
    b.append(String.format(Locale.ROOT, "<text x=\"14\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">%s</text>%n",
        TOP + ph / 2, TOP + ph / 2, Html.esc(yLabel)));
    // series, then the legend to the right of the plot area (never over the data)
    StringBuilder legendSvg = new StringBuilder();
    int legend = 0;
    for (Series s : series) {
      StringBuilder pts = new StringBuilder();
      StringBuilder marks = new StringBuilder();
      for (int i = 0; i < s.x().length; i++) {
        if (!Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i]) || (logX && s.x()[i] <= 0)) {
          continue;
        }
        double x = px.applyAsDouble(s.x()[i]);
        double y = py.applyAsDouble(s.y()[i]);
        pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        if (s.markers()) {
          marks.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%s: (%s, %s)</title></circle>",
              x, y, s.color(), Html.esc(s.name()), num(s.x()[i]), num(s.y()[i])));
        }
      }
      b.append(String.format(Locale.ROOT, "<g class=\"series\" data-name=\"%s\"><polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"%s\"/>%s</g>%n",
          Html.esc(s.name()), s.color(), s.dashed() ? "1.5" : "2", s.dashed() ? " stroke-dasharray=\"6 4\"" : "", pts.toString().trim(), marks));
      if (legend < 12) {
        int ly = TOP + 8 + legend * 16;
        legendSvg.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>"
            + "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>%n", LEFT + pw + 10, LEFT + pw + 28, ly, ly, s.color(),
            s.dashed() ? " stroke-dasharray=\"6 4\"" : "", LEFT + pw + 32, ly + 4, Html.esc(s.name())));
      } else if (legend == 12) {
        int ly = TOP + 8 + legend * 16;
        legendSvg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\">and %d more</text>%n",
            LEFT + pw + 10, ly + 4, series.size() - 12));
      }
      legend++;
    }
    b.append(String.format(Locale.ROOT, "<g class=\"legend\" data-x=\"%d\">%n", LEFT + pw + 10)).append(legendSvg).append("</g>\n");
    b.append("</svg>\n");
    return b.toString();
  }

  private double tx(double v) {
    return logX ? Math.log10(v) : v;
  }

  /** Ticks at 1, 2 and 5 times powers of ten, as log10 positions within [x0, x1]. */
  private static List<Double> logTicks(double x0, double x1) {
    List<Double> ticks = new ArrayList<>();
    for (int e = (int) Math.floor(x0) - 1; e <= (int) Math.ceil(x1); e++) {
      for (double m : new double[] {1, 2, 5}) {
        double t = Math.log10(m) + e;
        if (t >= x0 - 1e-9 && t <= x1 + 1e-9) {
          ticks.add(t);
        }
      }
    }
    return ticks;
  }

  /** Whole-number ticks, at most about eight of them (steps of 1, 2, 5, 10, ...). */
  private static List<Double> integerTicks(double x0, double x1) {
    double span = Math.max(1, x1 - x0);
    long step = 1;
    outer:
    for (long p = 1; ; p *= 10) {
      for (long m : new long[] {1, 2, 5}) {
        if (span / (p * m) <= 8) {
          step = p * m;
          break outer;
        }
      }
    }
    List<Double> ticks = new ArrayList<>();
    for (double v = Math.ceil(x0 / step) * step; v <= x1 + 1e-9; v += step) {
      ticks.add(v);
    }
    return ticks;
  }

  private static List<Double> xTicks(double x0, double x1) {
    List<Double> ticks = new ArrayList<>();
    double span = x1 - x0;
    double step = Math.pow(10, Math.floor(Math.log10(span / 5)));
    for (double m : new double[] {1, 2, 5, 10}) {
      if (span / (step * m) <= 8) {
        step *= m;
        break;
      }
    }
    for (double v = Math.ceil(x0 / step) * step; v <= x1 + 1e-9; v += step) {
      ticks.add(v);
    }
    return ticks;
  }

  static String num(double v) {
    if (Math.abs(v - Math.rint(v)) < 1e-9 * Math.max(1, Math.abs(v)) && Math.abs(v) < 1e6) {
      return String.valueOf(Math.round(v));
    }
    if (Math.abs(v) < 10 && Math.abs(v * 100 - Math.rint(v * 100)) < 1e-9) {
      return java.math.BigDecimal.valueOf(Math.rint(v * 100) / 100).stripTrailingZeros().toPlainString();
    }
    return String.format(Locale.ROOT, Math.abs(v) >= 10 ? "%.1f" : Math.abs(v) >= 0.1 ? "%.3f" : "%.3g", v);
  }
}
