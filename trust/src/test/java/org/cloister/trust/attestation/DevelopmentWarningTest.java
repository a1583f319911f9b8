package org.cloister.trust.attestation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The development-platform banner: printed by a process started alone, left to the parent that warned. */
class DevelopmentWarningTest {
  private static String banner(Map<String, String> env) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    DevelopmentWarning.banner("WARNING: SIMULATED platform", new PrintStream(err, true, StandardCharsets.UTF_8),
        LoggerFactory.getLogger(DevelopmentWarningTest.class), env);
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void aProcessStartedAloneWarns() {
    assertThat(banner(Map.of())).isEqualTo("WARNING: SIMULATED platform" + System.lineSeparator());
    assertThat(banner(Map.of(DevelopmentWarning.ENV, "0"))).contains("WARNING: SIMULATED platform");
  }

  @Test
  void aChildOfAParentThatWarnedDoesNotRepeatIt() {
    assertThat(DevelopmentWarning.parentWarned(DevelopmentWarning.warnedEnvironment())).isTrue();
    assertThat(banner(DevelopmentWarning.warnedEnvironment())).isEmpty();
  }
}
