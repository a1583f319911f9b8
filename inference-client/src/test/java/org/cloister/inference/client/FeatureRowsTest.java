package org.cloister.inference.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class FeatureRowsTest {

  @Test
  void aQuotedHeaderWithCommasAfterAByteOrderMarkIsOneHeader() {
    double[][] rows = FeatureRows.parse("\uFEFF\"radius, mean\",\"texture\"\r\n1.5,\"2\"\r\n3,4\r\n", true);
    assertThat(rows).hasDimensions(2, 2);
    assertThat(rows[0]).containsExactly(1.5, 2.0);
  }

  @Test
  void aByteOrderMarkBeforeANumberIsNotAHeader() {
    assertThat(FeatureRows.parse("\uFEFF1,2\n3,4\n", true)).hasDimensions(2, 2);
  }

  @Test
  void errorsNameTheLineAndColumnNotTheValue() {
    assertThatThrownBy(() -> FeatureRows.parse("1.0,2.0\n\n3.0,secret-value\n", false))
        .hasMessage("line 3, column 2: not a number (every feature must be numeric)");
    assertThatThrownBy(() -> FeatureRows.parse("1,,3\n", false))
        .hasMessage("line 1, column 2: empty value (every feature must be numeric)");
    // a quoted field spanning lines: the error names the line the record starts on
    assertThatThrownBy(() -> FeatureRows.parse("1,2\n\"3\n4\",5\n", false))
        .hasMessageStartingWith("line 2, column 1: not a number");
    assertThatThrownBy(() -> FeatureRows.parse("1,2\n\"3,4\n", false))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("line 2: malformed CSV");
    assertThatThrownBy(() -> FeatureRows.parse("# only a comment\n", false)).hasMessage("no feature rows given");
  }
}
