package org.cloister.enclave.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AttestationPlatformsTest {

  /** A plug-in registered by this module's test service file (src/test/resources/META-INF/services). */
  public static final class TestDoublePlatform implements AttestationPlatformProvider {
    @Override
    public String name() {
      return "test-double";
    }

    @Override
    public EvidenceSource open(Context context) {
      return (nonce, userData, publicKey) -> {
        throw new IllegalStateException("the test double produces no evidence");
      };
    }
  }

  /** Claims a built-in's name. */
  public static final class Impostor implements AttestationPlatformProvider {
    @Override
    public String name() {
      return "sev-snp";
    }

    @Override
    public EvidenceSource open(Context context) {
      throw new AssertionError("never opened");
    }
  }

  @Test
  void theBuiltInsAndPlugInsAreFoundThroughTheServiceLoader() {
    assertThat(AttestationPlatforms.installed().names()).containsExactly("nitro", "sev-snp", "simulated",
        "simulated-sev-snp", "simulated-tdx", "tdx", "test-double");
    assertThat(AttestationPlatforms.installed().platform("test-double")).isInstanceOf(TestDoublePlatform.class);
    assertThat(AttestationPlatforms.installed().platform("sev-snp")).isInstanceOf(BuiltinPlatforms.SevSnp.class);
    assertThat(AttestationPlatforms.label("simulated")).isEqualTo("simulated-nitro");
    assertThat(AttestationPlatforms.label("tdx")).isEqualTo("tdx");
  }

  @Test
  void anUnknownPlatformNamesTheInstalledOnes() {
    assertThatThrownBy(() -> AttestationPlatforms.open("sgx", null, null, "m", Map.of(), System.err))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("unknown --platform 'sgx' (installed: nitro, sev-snp, simulated, simulated-sev-snp, simulated-tdx, "
            + "tdx, test-double)");
  }

  @Test
  void twoPlatformsWithOneNameAreRefusedNotShadowed() {
    assertThatThrownBy(() -> new AttestationPlatforms(List.of(new BuiltinPlatforms.SevSnp(), new Impostor())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("two attestation platforms named 'sev-snp'")
        .hasMessageContaining(BuiltinPlatforms.SevSnp.class.getName())
        .hasMessageContaining(Impostor.class.getName());
  }

  @Test
  void aMissingDeviceIsAnErrorNeverASimulatedFallBack(@TempDir Path dir) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(err, true, StandardCharsets.UTF_8);
    assertThatThrownBy(() -> AttestationPlatformsAccess.open("nitro", dir.resolve("tsm"), dir.resolve("sev-guest"),
        dir.resolve("nsm"), ps)).hasMessageContaining("no Nitro Secure Module at " + dir.resolve("nsm"));
    assertThatThrownBy(() -> AttestationPlatformsAccess.open("tdx", dir.resolve("tsm"), dir.resolve("sev-guest"),
        dir.resolve("nsm"), ps)).hasMessageContaining("no configfs-tsm report interface");
    assertThat(err.toString(StandardCharsets.UTF_8)).doesNotContain("SIMULATED");
  }
}
