package org.cloister.dp.accounting;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SafeRoundingTest {

  @Test
  void roundsUpWhereHalfUpRoundsDown() {
    // %.6g gives 1.23457 (> value) and 1.23456 for 1.234561: the latter is below the value
    assertThat(String.format(java.util.Locale.ROOT, "%.6g", 1.2345612)).isEqualTo("1.23456");
    assertThat(SafeRounding.up(1.2345612, 6)).isEqualTo("1.23457");
    assertThat(SafeRounding.up(2.0, 6)).isEqualTo("2");
    assertThat(SafeRounding.up(1e-5, 3)).isEqualTo("1e-05");
    assertThat(SafeRounding.up(0.1, 6)).isEqualTo("0.1");
    assertThat(SafeRounding.up(1.0000000001e-7, 6)).isEqualTo("1.00001e-07");
    assertThat(SafeRounding.upFixed(0.12340001, 4)).isEqualTo("0.1235");
    assertThat(SafeRounding.upFixed(0.1234, 4)).isEqualTo("0.1234");
  }

  @Test
  void everyRenderingIsAtLeastTheValue() {
    java.util.SplittableRandom r = new java.util.SplittableRandom(1);
    for (int i = 0; i < 10_000; i++) {
      double v = r.nextDouble() * Math.pow(10, r.nextInt(-12, 6));
      // reading the printed value back never gives less than the value
      assertThat(Double.parseDouble(SafeRounding.up(v, 6))).isGreaterThanOrEqualTo(v);
      assertThat(Double.parseDouble(SafeRounding.upFixed(v, 4))).isGreaterThanOrEqualTo(v);
      assertThat(SafeRounding.upDouble(v, 6)).isGreaterThanOrEqualTo(v);
    }
  }
}
