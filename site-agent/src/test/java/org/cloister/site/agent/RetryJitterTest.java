package org.cloister.site.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RetryJitterTest {

  /** Sites that lost the coordinator together must not retry in lockstep: pauses spread over [b/2, b]. */
  @Test
  void retryPausesAreSpreadOverTheUpperHalfOfTheBackoff() {
    Random seeded = new Random(42);
    Set<Long> seen = new HashSet<>();
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    for (int i = 0; i < 10_000; i++) {
      long p = SiteAgent.jittered(1000, seeded);
      seen.add(p);
      min = Math.min(min, p);
      max = Math.max(max, p);
    }
    assertThat(min).isGreaterThanOrEqualTo(500).isLessThan(510);
    assertThat(max).isLessThanOrEqualTo(1000).isGreaterThan(990);
    assertThat(seen.size()).isGreaterThan(400);
    assertThat(SiteAgent.jittered(1, seeded)).isBetween(0L, 1L);
  }
}
