package org.cloister.coordinator.rounds;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Time that moves only when told to ({@link #advance}): a round engine given it waits for its
 * deadlines in this time, so tests (and simulations) of deadlines, stragglers, retries and pauses
 * run deterministically without real sleeps. Waiting threads are woken when time advances.
 */
public final class VirtualTime implements EngineTime {
  private volatile long now;
  private final Set<Object> monitors = ConcurrentHashMap.newKeySet();
  private final Map<Thread, Long> waiting = new ConcurrentHashMap<>();

  public VirtualTime(long startMillis) {
    this.now = startMillis;
  }

  @Override
  public long millis() {
    return now;
  }

  @Override
  public void awaitUntil(Object monitor, long untilMillis) throws InterruptedException {
    monitors.add(monitor); // before reading the time: an advance after that read will find and wake it
    if (now >= untilMillis) {
      return;
    }
    waiting.put(Thread.currentThread(), untilMillis);
    try {
      monitor.wait();
    } finally {
      waiting.remove(Thread.currentThread());
    }
  }

  /** Moves time forward by {@code d} and wakes every waiting thread. */
  public void advance(Duration d) {
    if (d.isNegative()) {
      throw new IllegalArgumentException("time does not go back: " + d);
    }
    synchronized (this) {
      now += d.toMillis();
    }
    for (Object m : monitors) {
      synchronized (m) {
        m.notifyAll();
      }
    }
  }

  /**
   * Blocks (in real time, up to {@code safety}) until {@code thread} waits in this time for a moment
   * still ahead, or has ended: it has done all it can at the current time. For tests.
   *
   * @return false when the safety timeout passed first
   */
  public boolean awaitBlocked(Thread thread, Duration safety) throws InterruptedException {
    long until = System.nanoTime() + safety.toNanos();
    while (System.nanoTime() < until) {
      if (!thread.isAlive()) {
        return true;
      }
      Long at = waiting.get(thread);
      if (at != null && at > now && thread.getState() == Thread.State.WAITING) {
        return true;
      }
      Thread.yield();
    }
    return false;
  }
}
