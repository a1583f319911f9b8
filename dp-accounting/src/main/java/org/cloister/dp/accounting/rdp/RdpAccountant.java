package org.cloister.dp.accounting.rdp;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.cloister.dp.accounting.GaussianPrecision;
import org.cloister.dp.accounting.PrivacyAccountant;
import org.cloister.dp.accounting.UnsupportedEventException;
import org.cloister.dp.events.ComposedEvent;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.LaplaceEvent;
import org.cloister.dp.events.NoOpEvent;
import org.cloister.dp.events.NonPrivateEvent;
import org.cloister.dp.events.PoissonSampledEvent;
import org.cloister.dp.events.SampledWithoutReplacementEvent;
import org.cloister.dp.events.SelfComposedEvent;

/**
 * Rényi-DP accountant (Mironov 2017) for add-or-remove-one adjacency. The RDP of every composed
 * event is added up at each order; (epsilon, delta) is read off with the improved conversion (see
 * {@link RdpConversion}) at the best order, which {@link #epsilonAndOrder} reports.
 *
 * <p>Interprets: Gaussian, Laplace, Poisson-sampled Gaussian (also of a composition of Gaussians,
 * which is one Gaussian with {@code sigma^-2 = sum sigma_i^-2}), self-composition, composition,
 * no-op and non-private events. Sampling without replacement needs replace-one adjacency and is
 * rejected. Not thread-safe.
 */
public final class RdpAccountant implements PrivacyAccountant {

  private static final String NAME = "rdp";
  private static final double[] DEFAULT_ORDERS = defaultOrderArray();

  /** Recently composed events' RDP curves: each round of training composes the same event. */
  private static final int CURVE_CACHE_SIZE = 16;

  private final double[] orders;
  private final double[] rdp;
  private final Map<DpEvent, double[]> curveCache = new LinkedHashMap<>(32, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<DpEvent, double[]> eldest) {
      return size() > CURVE_CACHE_SIZE;
    }
  };

  /** An accountant over the default orders 1.1, 1.2, ..., 10.9, 11, 12, ..., 63, 128, 256, 512, 1024. */
  public RdpAccountant() {
    this(DEFAULT_ORDERS);
  }

  /**
   * An accountant over the given Rényi orders.
   *
   * @throws IllegalArgumentException if there are none, or one is not a finite number in (1, 1e6]
   */
  public RdpAccountant(double... orders) {
    Objects.requireNonNull(orders, "orders");
    if (orders.length == 0) {
      throw new IllegalArgumentException("RDP orders must not be empty");
    }
    for (double a : orders) {
      if (!(a > 1 && a <= RdpMechanisms.MAX_ORDER)) {
        throw new IllegalArgumentException("RDP order must be in (1, " + RdpMechanisms.MAX_ORDER
            + "], got " + a);
      }
    }
    this.orders = orders.clone();
    this.rdp = new double[orders.length];
  }

  private RdpAccountant(double[] orders, double[] rdp) {
    this.orders = orders;
    this.rdp = rdp;
  }

  /** The default orders, as in Google's dp_accounting. */
  public static List<Double> defaultOrders() {
    return Arrays.stream(DEFAULT_ORDERS).boxed().toList();
  }

  /** The orders this accountant tracks. */
  public double[] orders() {
    return orders.clone();
  }

  /** The accumulated RDP at each of {@link #orders()}. */
  public double[] rdp() {
    return rdp.clone();
  }

  @Override
  public boolean supports(DpEvent event) {
    return unsupportedPart(event) == null;
  }

  @Override
  public RdpAccountant compose(DpEvent event, long count) {
    Objects.requireNonNull(event, "event");
    if (count < 0) {
      throw new IllegalArgumentException("count must be >= 0, got " + count);
    }
    Unsupported problem = unsupportedPart(event);
    if (problem != null) {
      throw new UnsupportedEventException(NAME, problem.event(), problem.reason());
    }
    if (count == 0) {
      return this;
    }
    double[] increment = curveCache.get(event);
    if (increment == null) {
      increment = new double[orders.length];
      accumulate(event, 1.0, increment);
      curveCache.put(event, increment);
    }
    for (int i = 0; i < rdp.length; i++) {
      if (increment[i] != 0) {
        rdp[i] += count * increment[i];
      }
    }
    return this;
  }

  @Override
  public RdpAccountant compose(DpEvent event) {
    return compose(event, 1);
  }

  @Override
  public double epsilon(double delta) {
    return epsilonAndOrder(delta).epsilon();
  }

  @Override
  public double delta(double epsilon) {
    return deltaAndOrder(epsilon).delta();
  }

  /** The smallest epsilon for {@code delta} and the order that gives it. */
  public RdpGuarantee epsilonAndOrder(double delta) {
    if (!(delta >= 0 && delta <= 1)) {
      throw new IllegalArgumentException("delta must be in [0, 1], got " + delta);
    }
    return RdpConversion.epsilon(orders, rdp, delta);
  }

  /** The smallest delta for {@code epsilon} and the order that gives it. */
  public RdpGuarantee deltaAndOrder(double epsilon) {
    if (!(epsilon >= 0)) {
      throw new IllegalArgumentException("epsilon must be >= 0, got " + epsilon);
    }
    return RdpConversion.delta(orders, rdp, epsilon);
  }

  @Override
  public RdpAccountant copy() {
    return new RdpAccountant(orders, rdp.clone());
  }

  private record Unsupported(DpEvent event, String reason) {
  }

  private static Unsupported unsupportedPart(DpEvent event) {
    if (event instanceof GaussianEvent || event instanceof LaplaceEvent
        || event instanceof NoOpEvent || event instanceof NonPrivateEvent) {
      return null;
    }
    if (event instanceof SelfComposedEvent s) {
      return unsupportedPart(s.event());
    }
    if (event instanceof ComposedEvent c) {
      for (DpEvent e : c.events()) {
        Unsupported u = unsupportedPart(e);
        if (u != null) {
          return u;
        }
      }
      return null;
    }
    if (event instanceof PoissonSampledEvent p) {
      if (p.samplingProbability() == 0 || GaussianPrecision.of(p.event()) != null) {
        return null;
      }
      return new Unsupported(event, "Poisson sampling is supported over Gaussian mechanisms "
          + "(or compositions of them) only");
    }
    if (event instanceof SampledWithoutReplacementEvent) {
      return new Unsupported(event, "sampling without replacement needs replace-one adjacency; "
          + "this accountant uses add-or-remove-one (use Poisson sampling)");
    }
    return new Unsupported(event, "unknown event type");
  }


  /** Adds {@code weight} times the RDP curve of {@code event} into {@code out}. */
  private void accumulate(DpEvent event, double weight, double[] out) {
    if (weight == 0 || event instanceof NoOpEvent) {
      return;
    }
    if (event instanceof NonPrivateEvent) {
      Arrays.fill(out, Double.POSITIVE_INFINITY);
    } else if (event instanceof GaussianEvent g) {
      for (int i = 0; i < orders.length; i++) {
        out[i] += weight * RdpMechanisms.gaussian(g.noiseMultiplier(), orders[i]);
      }
    } else if (event instanceof LaplaceEvent l) {
      for (int i = 0; i < orders.length; i++) {
        out[i] += weight * RdpMechanisms.laplace(l.scale(), orders[i]);
      }
    } else if (event instanceof SelfComposedEvent s) {
      accumulate(s.event(), weight * s.count(), out);
    } else if (event instanceof ComposedEvent c) {
      for (DpEvent e : c.events()) {
        accumulate(e, weight, out);
      }
    } else if (event instanceof PoissonSampledEvent p) {
      double q = p.samplingProbability();
      if (q == 0) {
        return;
      }
      double precision = GaussianPrecision.of(p.event());
      if (precision == 0) {
        return;
      }
      double sigma = precision == Double.POSITIVE_INFINITY ? 0 : 1 / Math.sqrt(precision);
      double[] curve = subsampledGaussianCurve(q, sigma);
      for (int i = 0; i < orders.length; i++) {
        out[i] += weight * curve[i];
      }
    } else {
      throw new UnsupportedEventException(NAME, event);
    }
  }

  /** A (q, sigma) pair over a set of orders; the orders array is compared by content. */
  private record CurveKey(double q, double sigma, List<Double> orders) {
  }

  /**
   * Memo of the subsampled Gaussian's RDP curves: a pure function of (q, sigma, orders), the same
   * bits whether computed or remembered. Thousands of sites of one study share a handful of
   * (q, sigma) pairs, and every site's guard, the coordinator's budget check and the final report
   * recompose the same events each round. Bounded: cleared when it holds {@value #CURVE_MEMO} curves.
   */
  private static final java.util.concurrent.ConcurrentHashMap<CurveKey, double[]> CURVES =
      new java.util.concurrent.ConcurrentHashMap<>();
  private static final int CURVE_MEMO = 4096;

  private double[] subsampledGaussianCurve(double q, double sigma) {
    CurveKey key = new CurveKey(q, sigma, orderList());
    double[] curve = CURVES.get(key);
    if (curve == null) {
      curve = new double[orders.length];
      for (int i = 0; i < orders.length; i++) {
        curve[i] = RdpMechanisms.subsampledGaussian(q, sigma, orders[i]);
      }
      if (CURVES.size() >= CURVE_MEMO) {
        CURVES.clear();
      }
      CURVES.put(key, curve);
    }
    return curve;
  }

  private List<Double> orderList() {
    if (orderList == null) {
      orderList = Arrays.stream(orders).boxed().toList();
    }
    return orderList;
  }

  private List<Double> orderList;

  private static double[] defaultOrderArray() {
    double[] a = new double[99 + 53 + 4];
    int n = 0;
    for (int x = 1; x < 100; x++) {
      a[n++] = 1 + x / 10.0;
    }
    for (int x = 11; x < 64; x++) {
      a[n++] = x;
    }
    for (double x : new double[] {128, 256, 512, 1024}) {
      a[n++] = x;
    }
    return a;
  }
}
