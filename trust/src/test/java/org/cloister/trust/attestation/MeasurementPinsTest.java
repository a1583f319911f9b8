package org.cloister.trust.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Nitro PCRs in the one measurements format every party reads. */
class MeasurementPinsTest {

  private static byte[] filled(int b) {
    byte[] v = new byte[48];
    java.util.Arrays.fill(v, (byte) b);
    return v;
  }

  @Test
  void nitroPcrsRoundTripByIndexThroughTheFile(@TempDir Path dir) throws Exception {
    Map<Integer, byte[]> pcrs = new TreeMap<>(Map.of(0, filled(1), 1, filled(2), 2, filled(3)));
    Path f = dir.resolve("expected-pcrs.json");
    Files.writeString(f, MeasurementPins.nitro(pcrs).toJson());
    MeasurementPins back = MeasurementPins.read(f);
    assertThat(back.platform()).isEqualTo(TeePlatform.NITRO);
    assertThat(back.nitroPcrs()).containsOnlyKeys(0, 1, 2);
    assertThat(back.nitroPcrs().get(2)).isEqualTo(filled(3));
    assertThatThrownBy(() -> MeasurementPins.nitro(Map.of(0, filled(1), 1, filled(2))))
        .hasMessageContaining("pcr2");
    assertThatThrownBy(() -> new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", filled(4)), false)
        .nitroPcrs()).hasMessageContaining("sev-snp");
  }

  @Test
  void retiredAndUnknownFormatsAreRefusedByName(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("expected-pcrs.json");
    Files.writeString(f, "{\"format\":\"cloister-expected-pcrs/v1\",\"pcrs\":{\"0\":\"00\"}}");
    assertThatThrownBy(() -> MeasurementPins.read(f)).hasMessageContaining("retired")
        .hasMessageContaining("cloister-expected-pcrs/v1").hasMessageContaining(f.toString());
    Files.writeString(f, "{\"0\":\"00\",\"1\":\"00\"}");
    assertThatThrownBy(() -> MeasurementPins.read(f)).hasMessageContaining("retired")
        .hasMessageContaining("bare map of PCR indices");
    Files.writeString(f, "{\"format\":\"cloister-measurements/v2\"}");
    assertThatThrownBy(() -> MeasurementPins.read(f)).hasMessageContaining("'cloister-measurements/v2'")
        .hasMessageContaining("expected cloister-measurements/v1");
  }
}
