package org.cloister.dp.math;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** FFT convolution against the exact direct sum, for power-of-two and 3 * 2^k transform lengths. */
class FftConvolverTest {

  @ParameterizedTest(name = "{0} x {1}")
  // 7000 x 7000 -> 2^14 and 20000 x 20001 -> 3 * 2^14: complex lengths beyond the 4096-point
  // cache block, so the global radix-4 passes run too
  @CsvSource({"17, 17", "100, 300", "1000, 1000", "3000, 2000", "4097, 4096", "5000, 7001", "7000, 7000",
      "20000, 20001", "65536, 1"})
  void matchesTheDirectSum(int la, int lb) {
    Random random = new Random(la * 31L + lb);
    double[] a = new double[la];
    double[] b = new double[lb];
    for (int i = 0; i < la; i++) {
      a[i] = random.nextDouble();
    }
    for (int i = 0; i < lb; i++) {
      b[i] = random.nextDouble();
    }
    FftConvolver fft = new FftConvolver();
    double[] exact = FftConvolver.direct(a, b);
    double[] exactSquare = FftConvolver.direct(b, b);
    double scale = Math.sqrt((double) la * lb); // absolute round-off grows like ||a|| ||b||
    assertClose(fft.convolve(a, b), exact, 1e-14 * scale);
    assertClose(fft.square(b), exactSquare, 1e-14 * scale);
    double[][] both = fft.convolveAndSquare(a, b);
    assertClose(both[0], exact, 1e-14 * scale);
    assertClose(both[1], exactSquare, 1e-14 * scale);
  }

  @ParameterizedTest(name = "length {0} -> {1}")
  @CsvSource({"16, 16", "17, 32", "49, 64", "65, 96", "88245, 98304", "131073, 196608", "196609, 262144"})
  void transformLengthIsTheSmallestPowerOfTwoOrThreeTimesOne(int length, int expected) {
    assertThat(FftConvolver.transformLength(length)).isEqualTo(expected);
  }

  private static void assertClose(double[] actual, double[] expected, double tolerance) {
    assertThat(actual).hasSameSizeAs(expected);
    for (int i = 0; i < expected.length; i++) {
      assertThat(actual[i]).as("index %d", i).isCloseTo(expected[i], within(tolerance));
    }
  }
}
