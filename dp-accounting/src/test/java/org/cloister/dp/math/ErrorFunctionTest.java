package org.cloister.dp.math;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Reference values: mpmath 1.3.0 at 50 digits (mp.erfc), printed by
 * src/test/python/rdp_reference.py.
 */
class ErrorFunctionTest {

  @ParameterizedTest(name = "erfc({0})")
  @CsvSource({
      "-5, 1.9999999999984625402",
      "-1, 1.8427007929497148693",
      "-0.3, 1.3286267594591274162",
      "0, 1.0",
      "0.001, 0.9988716212090307636",
      "0.1, 0.8875370839817151016",
      "0.5, 0.47950012218695346232",
      "1, 0.15729920705028513066",
      "2, 0.0046777349810472658379",
      "3.75, 1.1372725656979665326e-7",
      "5, 1.5374597944280348502e-12",
      "10, 2.088487583762544757e-45",
      "20, 5.3958656116079009289e-176",
      "26, 5.6631924088561428465e-296",
  })
  void erfcMatchesMpmathToRelative1e15(double x, double expected) {
    assertThat(ErrorFunction.erfc(x)).isCloseTo(expected, within(Math.abs(expected) * 1e-15));
  }

  @Test
  void erfcAtTheSubnormalEdge() {
    // mpmath: erfc(27) = 5.237048923789255685e-319 (subnormal: only ~10 significant bits left)
    assertThat(ErrorFunction.erfc(27)).isCloseTo(5.237048923789255685e-319, within(1e-321));
    assertThat(ErrorFunction.erfc(40)).isZero();
    assertThat(ErrorFunction.erfc(-40)).isEqualTo(2.0);
  }

  @ParameterizedTest(name = "log erfc({0})")
  @CsvSource({
      "30, -903.97411711064387808",
      "100, -10005.177585122664333",
      "10000, -100000009.7827053199",
  })
  void logErfcStaysFiniteWhereErfcUnderflows(double x, double expected) {
    assertThat(ErrorFunction.logErfc(x)).isCloseTo(expected, within(Math.abs(expected) * 1e-15));
  }

  @ParameterizedTest(name = "erfcx({0})")
  @CsvSource({
      "0, 1.0",
      "0.5, 0.61569034419292587487",
      "3.75, 0.14558972127503853905",
      "50, 0.0112815362653237725",
      "1000, 0.0005641893014533876542",
      "1000000, 5.6418958354747419216e-7",
  })
  void erfcxMatchesMpmath(double x, double expected) {
    assertThat(ErrorFunction.erfcx(x)).isCloseTo(expected, within(expected * 1e-15));
  }

  @Test
  void normalTailsAreComplementaryAndSymmetric() {
    for (double z = -8; z <= 8; z += 0.37) {
      assertThat(ErrorFunction.normalCdf(z) + ErrorFunction.normalSf(z)).isCloseTo(1.0, within(2e-16));
      assertThat(ErrorFunction.normalSf(z)).isCloseTo(ErrorFunction.normalCdf(-z), within(1e-300));
    }
    // P(Z > 1.959963984540054) = 0.025 (the 97.5% quantile, to 16 digits)
    assertThat(ErrorFunction.normalSf(1.959963984540054)).isCloseTo(0.025, within(1e-16));
    assertThat(ErrorFunction.logNormalSf(40)).isCloseTo(Math.log(0.5) + ErrorFunction.logErfc(40 / Math.sqrt(2)), within(1e-12));
  }
}
