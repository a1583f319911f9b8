package org.cloister.coordinator.rounds;

import java.time.Clock;

/**
 * The time a {@link RoundEngine} is given: what time it is, and how to wait on the engine's monitor
 * until a moment of that time. Deadlines, start grace and join timeouts are all measured in it, so
 * a test can drive them with {@link VirtualTime} instead of waiting on real deadlines.
 */
public interface EngineTime {

  /** The current time in milliseconds (epoch for {@link #of(Clock)}). */
  long millis();

  /**
   * Waits on {@code monitor}, whose lock the caller holds, until it is notified or this time
   * reaches {@code untilMillis} (returns at once if it already has). Spurious returns are allowed:
   * callers re-check their condition.
   */
  void awaitUntil(Object monitor, long untilMillis) throws InterruptedException;

  /** Real time read from {@code clock}; waits are {@link Object#wait(long)}. */
  static EngineTime of(Clock clock) {
    return new EngineTime() {
      @Override
      public long millis() {
        return clock.millis();
      }

      @Override
      public void awaitUntil(Object monitor, long untilMillis) throws InterruptedException {
        long left = untilMillis - clock.millis();
        if (left > 0) {
          monitor.wait(left);
        }
      }
    };
  }
}
