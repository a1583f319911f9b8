package org.cloister.consortium;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecureAggregationSetupTest {

  @Test
  void sealingKeysAndExpectedPcrsRoundTripThroughTheirFiles(@TempDir Path dir) throws IOException {
    HpkeKeyPair key = SecureAggregationSetup.newSealingKey();
    Path keyFile = dir.resolve("sealing.key");
    SecureAggregationSetup.writeSealingKey(keyFile, key);
    assertThat(SecureAggregationSetup.readSealingKey(keyFile)).isEqualTo(key);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile))).isEqualTo("rw-------");

    Map<Integer, byte[]> pcrs = Map.of(0, new byte[48], 1, filled(48, 1), 2, filled(48, 2), 8, filled(48, 8));
    Path pcrFile = dir.resolve("expected-pcrs.json");
    SecureAggregationSetup.writePcrs(pcrFile, pcrs);
    Map<Integer, byte[]> read = SecureAggregationSetup.readPcrs(pcrFile);
    assertThat(read.keySet()).containsExactly(0, 1, 2, 8);
    pcrs.forEach((i, v) -> assertThat(read.get(i)).isEqualTo(v));
  }

  @Test
  void refusesFilesThatDoNotPinTheEnclaveOrAreNotKeys(@TempDir Path dir) throws IOException {
    Path pcrFile = dir.resolve("expected-pcrs.json");
    assertThatThrownBy(() -> SecureAggregationSetup.writePcrs(pcrFile, Map.of(0, new byte[48], 1, new byte[48])))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lack 'pcr2'");
    String zeros = "00".repeat(48);
    Files.writeString(pcrFile, "{\"format\": \"cloister-measurements/v1\", \"platform\": \"nitro\", \"measurements\":"
        + " {\"pcr0\": \"" + zeros + "\", \"pcr1\": \"" + zeros + "\"}}");
    assertThatThrownBy(() -> SecureAggregationSetup.readPcrs(pcrFile)).hasMessageContaining("lack 'pcr2'");
    Path notAKey = dir.resolve("other.json");
    Files.writeString(notAKey, "{\"format\": \"something-else\"}");
    assertThatThrownBy(() -> SecureAggregationSetup.readSealingKey(notAKey)).isInstanceOf(IOException.class)
        .hasMessageContaining("is not a sealing key");
    assertThatThrownBy(() -> SecureAggregationSetup.readPcrs(notAKey)).isInstanceOf(IOException.class)
        .hasMessageContaining("does not hold pinned measurements");
  }

  @Test
  void thePolicyMeasuresTheWholeStrategy() {
    assertThat(SecureAggregationSetup.strategySpec("fedavg").get("server_lr")).isEqualTo(1.0);
    assertThat(SecureAggregationSetup.strategySpec("fedyogi").toString()).isEqualTo("fedyogi:beta1=0.9,beta2=0.99,server_lr=0.1,tau=0.001");
    // FedProx's mu is in the measured policy too (it used to be reduced to "fedavg")
    assertThat(SecureAggregationSetup.strategySpec("fedprox:0.1").toString()).isEqualTo("fedprox:mu=0.1,server_lr=1");
    assertThatThrownBy(() -> SecureAggregationSetup.strategySpec("fedprox:-1")).hasMessageContaining("mu must be > 0");
    assertThatThrownBy(() -> SecureAggregationSetup.strategySpec("fedsgd")).hasMessageContaining("unknown strategy");
    assertThat(SecureAggregationSetup.modelKeyId("WDBC Study/1")).isEqualTo("cloister/model/wdbc-study-1");
  }

  private static byte[] filled(int n, int v) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) v);
    return b;
  }
}
