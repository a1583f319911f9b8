package org.cloister.dp.accounting.pld;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.cloister.dp.accounting.GaussianPrecision;
import org.cloister.dp.accounting.PrivacyAccountant;
import org.cloister.dp.accounting.UnsupportedEventException;
import org.cloister.dp.accounting.pld.ConnectTheDots.Direction;
import org.cloister.dp.events.ComposedEvent;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.LaplaceEvent;
import org.cloister.dp.events.NoOpEvent;
import org.cloister.dp.events.NonPrivateEvent;
import org.cloister.dp.events.PoissonSampledEvent;
import org.cloister.dp.events.SampledWithoutReplacementEvent;
import org.cloister.dp.events.SelfComposedEvent;
import org.cloister.dp.math.FftConvolver;

/**
 * Privacy-loss-distribution accountant (Koskela, Jälkö, Honkela 2020; Doroshenko et al. 2022)
 * for add-or-remove-one adjacency. Each mechanism's privacy loss distribution is discretized
 * pessimistically on a grid of {@code interval} (default 1e-4) with the connect-the-dots method,
 * composed by FFT convolution with tail truncation, and self-composed by repeated squaring. The
 * "remove" and "add" directions are composed separately and the worse is reported. The result
 * is an upper bound on the exact (epsilon, delta) of the composition, tighter than RDP.
 *
 * <p>Truncation: a convolution producing the distribution of m of n identical steps moves at
 * most {@code 1e-15 * m / n} of probability from the top of the distribution to "infinite loss",
 * which counts fully toward delta (later compositions multiply it by at most n / m); the bottom is
 * merged upward, which can only increase delta. With about 2 log2(n) convolutions per
 * self-composition plus one per composed event, the delta added is of order 1e-14 (1.6e-14 for
 * 10^4 steps), reported by {@link #truncationDelta()} and always included, never dropped.
 *
 * <p>Interprets: Gaussian, Laplace, Poisson-sampled Gaussian (or composition of Gaussians) and
 * Poisson-sampled Laplace, self-composition, composition, no-op and non-private events. Not
 * thread-safe.
 */
public final class PldAccountant implements PrivacyAccountant {

  /** Default width of the privacy-loss grid. */
  public static final double DEFAULT_INTERVAL = 1e-4;
  /** Most compositions of one event accepted (beyond, use RDP: the loss spreads too wide). */
  static final long MAX_COUNT = 1_000_000_000L;
  /** Probability truncated from the top of the distribution at each convolution. */
  static final double TAIL = 1e-15;
  private static final String NAME = "pld";

  /** Recently composed (event, count) distributions: training composes the same step each round. */
  private static final int CACHE_SIZE = 8;

  private final double interval;
  private final FftConvolver fft;
  private final Map<CacheKey, PrivacyLossDistribution[]> cache = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<CacheKey, PrivacyLossDistribution[]> eldest) {
      return size() > CACHE_SIZE;
    }
  };
  private PrivacyLossDistribution remove;
  private PrivacyLossDistribution add;
  private boolean nonPrivate;

  /** An accountant with the default discretization interval 1e-4. */
  public PldAccountant() {
    this(DEFAULT_INTERVAL);
  }

  /**
   * An accountant discretizing privacy losses on a grid of {@code interval}: smaller is tighter,
   * slower and uses more memory.
   *
   * @throws IllegalArgumentException unless 1e-7 <= interval <= 1
   */
  public PldAccountant(double interval) {
    if (!(interval >= 1e-7 && interval <= 1)) {
      throw new IllegalArgumentException("PLD discretization interval must be in [1e-7, 1], got " + interval);
    }
    this.interval = interval;
    this.fft = new FftConvolver();
    this.remove = PrivacyLossDistribution.identity(interval);
    this.add = remove;
  }

  private PldAccountant(PldAccountant other) {
    this.interval = other.interval;
    this.fft = new FftConvolver(); // keeps work buffers: one per accountant
    this.cache.putAll(other.cache); // distributions are immutable
    this.remove = other.remove;
    this.add = other.add;
    this.nonPrivate = other.nonPrivate;
  }

  /** The discretization interval. */
  public double interval() {
    return interval;
  }

  @Override
  public boolean supports(DpEvent event) {
    return unsupportedReason(event) == null;
  }

  @Override
  public PldAccountant compose(DpEvent event, long count) {
    Objects.requireNonNull(event, "event");
    if (count < 0) {
      throw new IllegalArgumentException("count must be >= 0, got " + count);
    }
    Unsupported problem = unsupportedReason(event);
    if (problem != null) {
      throw new UnsupportedEventException(NAME, problem.event(), problem.reason());
    }
    if (count > 0) {
      apply(event, count);
    }
    return this;
  }

  @Override
  public PldAccountant compose(DpEvent event) {
    return compose(event, 1);
  }

  @Override
  public double epsilon(double delta) {
    if (!(delta >= 0 && delta <= 1)) {
      throw new IllegalArgumentException("delta must be in [0, 1], got " + delta);
    }
    if (nonPrivate) {
      return Double.POSITIVE_INFINITY;
    }
    return Math.max(remove.epsilon(delta), add.epsilon(delta));
  }

  @Override
  public double delta(double epsilon) {
    if (!(epsilon >= 0)) {
      throw new IllegalArgumentException("epsilon must be >= 0, got " + epsilon);
    }
    if (nonPrivate) {
      return 1.0;
    }
    return Math.max(remove.delta(epsilon), add.delta(epsilon));
  }

  /**
   * The part of the reported delta that comes from truncating distribution tails (probability
   * moved to infinite loss), for the worse direction.
   */
  public double truncationDelta() {
    return Math.max(remove.infinityMass(), add.infinityMass());
  }

  /** Number of grid points currently held (both directions), a measure of memory use. */
  public long gridPoints() {
    return remove == add ? remove.size() : (long) remove.size() + add.size();
  }

  @Override
  public PldAccountant copy() {
    return new PldAccountant(this);
  }

  private record Unsupported(DpEvent event, String reason) {
  }

  private record CacheKey(DpEvent event, long count) {
  }

  private static Unsupported unsupportedReason(DpEvent event) {
    if (event instanceof GaussianEvent || event instanceof LaplaceEvent
        || event instanceof NoOpEvent || event instanceof NonPrivateEvent) {
      return null;
    }
    if (event instanceof SelfComposedEvent s) {
      return unsupportedReason(s.event());
    }
    if (event instanceof ComposedEvent c) {
      for (DpEvent e : c.events()) {
        Unsupported u = unsupportedReason(e);
        if (u != null) {
          return u;
        }
      }
      return null;
    }
    if (event instanceof PoissonSampledEvent p) {
      if (p.samplingProbability() == 0 || p.event() instanceof LaplaceEvent
          || GaussianPrecision.of(p.event()) != null) {
        return null;
      }
      return new Unsupported(event, "Poisson sampling is supported over a Gaussian (or a composition "
          + "of Gaussians) or a Laplace mechanism only");
    }
    if (event instanceof SampledWithoutReplacementEvent) {
      return new Unsupported(event, "sampling without replacement needs replace-one adjacency; "
          + "this accountant uses add-or-remove-one (use Poisson sampling)");
    }
    return new Unsupported(event, "unknown event type");
  }

  private void apply(DpEvent event, long count) {
    if (event instanceof NoOpEvent) {
      return;
    }
    if (event instanceof NonPrivateEvent) {
      nonPrivate = true;
    } else if (event instanceof SelfComposedEvent s) {
      if (s.count() > 0) {
        apply(s.event(), Math.multiplyExact(count, s.count()));
      }
    } else if (event instanceof ComposedEvent c) {
      for (DpEvent e : c.events()) {
        apply(e, count);
      }
    } else if (event instanceof GaussianEvent g) {
      if (g.noiseMultiplier() == 0) {
        nonPrivate = true;
      } else {
        // count Gaussians compose to one with sigma / sqrt(count): discretize once
        double sigma = g.noiseMultiplier() / Math.sqrt(count);
        composeSymmetric(new GaussianEvent(sigma), 1, () -> ConnectTheDots.discretize(1.0,
            new AdditiveNoise.Gaussian(sigma), Direction.REMOVE, interval));
      }
    } else if (event instanceof LaplaceEvent l) {
      if (l.scale() == 0) {
        nonPrivate = true;
      } else {
        composeSymmetric(l, count, () -> ConnectTheDots.discretize(1.0,
            new AdditiveNoise.Laplace(l.scale()), Direction.REMOVE, interval));
      }
    } else if (event instanceof PoissonSampledEvent p) {
      applySampled(p, count);
    } else {
      throw new UnsupportedEventException(NAME, event);
    }
  }

  private void applySampled(PoissonSampledEvent p, long count) {
    double q = p.samplingProbability();
    if (q == 0) {
      return;
    }
    if (q == 1.0) {
      apply(p.event(), count); // no sampling: the mechanism itself
      return;
    }
    AdditiveNoise noise;
    if (p.event() instanceof LaplaceEvent l) {
      if (l.scale() == 0) {
        nonPrivate = true;
        return;
      }
      noise = new AdditiveNoise.Laplace(l.scale());
    } else {
      double precision = GaussianPrecision.of(p.event());
      if (precision == 0) {
        return;
      }
      if (precision == Double.POSITIVE_INFINITY) {
        nonPrivate = true;
        return;
      }
      noise = new AdditiveNoise.Gaussian(1 / Math.sqrt(precision));
    }
    CacheKey key = new CacheKey(p, count);
    PrivacyLossDistribution[] pair = cache.get(key);
    if (pair == null) {
      pair = new PrivacyLossDistribution[] {
          selfCompose(ConnectTheDots.discretize(q, noise, Direction.REMOVE, interval), count),
          selfCompose(ConnectTheDots.discretize(q, noise, Direction.ADD, interval), count)};
      cache.put(key, pair);
    }
    composePair(pair[0], pair[1]);
  }

  private void composePair(PrivacyLossDistribution r, PrivacyLossDistribution a) {
    boolean shared = remove == add && r == a;
    remove = remove.compose(r, fft, TAIL);
    add = shared ? remove : add.compose(a, fft, TAIL);
  }

  /** For mechanisms whose two directions have the same loss distribution (no sampling). */
  private void composeSymmetric(DpEvent event, long count, java.util.function.Supplier<PrivacyLossDistribution> single) {
    CacheKey key = new CacheKey(event, count);
    PrivacyLossDistribution[] pair = cache.get(key);
    if (pair == null) {
      PrivacyLossDistribution composed = selfCompose(single.get(), count);
      pair = new PrivacyLossDistribution[] {composed, composed};
      cache.put(key, pair);
    }
    composePair(pair[0], pair[1]);
  }

  private PrivacyLossDistribution selfCompose(PrivacyLossDistribution single, long count) {
    if (count > MAX_COUNT) {
      throw new IllegalArgumentException("the PLD accountant composes one event at most " + MAX_COUNT
          + " times, got " + count + "; use the RDP accountant");
    }
    // Trim the single step's tails by TAIL / count: its truncation is multiplied count times.
    PrivacyLossDistribution trimmed = single.truncate(Math.max(TAIL / count, 1e-30));
    return count == 1 ? trimmed : trimmed.selfCompose(count, fft, TAIL);
  }

}
