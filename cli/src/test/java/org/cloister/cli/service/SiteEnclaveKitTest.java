package org.cloister.cli.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.cloister.cli.config.ConfigDir;
import org.cloister.consortium.SecureAggregationSetup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A site kit's enclave section selecting a confidential-VM enclave (SEV-SNP/TDX): pins read fail-closed. */
class SiteEnclaveKitTest {
  @TempDir
  Path dir;
  ManagedChannel channel;
  SiteService service;

  @BeforeEach
  void setUp() throws Exception {
    channel = NettyChannelBuilder.forAddress("127.0.0.1", 9).usePlaintext().build(); // never called here
    service = new SiteService(dir.resolve("site.yaml"), new PrintWriter(new StringWriter()),
        new PrintWriter(new StringWriter()));
    SecureAggregationSetup.writeSealingKey(dir.resolve("sealing.key"), SecureAggregationSetup.newSealingKey());
    Files.createDirectories(dir.resolve("collateral"));
  }

  @AfterEach
  void tearDown() {
    channel.shutdownNow();
  }

  private org.cloister.cli.config.SiteFile.Enclave kit(String enclave) {
    return org.cloister.simulations.config.StrictYaml.bind(enclave.replaceAll("(?m)^  ", ""), "site.yaml",
        org.cloister.cli.config.SiteFile.Enclave.class, java.util.Map.of());
  }

  private void measurements(String json) throws Exception {
    Files.writeString(dir.resolve("m.json"), json);
  }

  private static final String SNP = "{\"format\":\"cloister-measurements/v1\",\"platform\":\"sev-snp\","
      + "\"measurements\":{\"measurement\":\"" + "ab".repeat(48) + "\"}}";

  @Test
  void aSevSnpKitPinsItsMeasurement() throws Exception {
    measurements(SNP);
    var sealer = service.sealer(new ConfigDir("site.yaml", dir), kit("  expected_measurements: " + dir.resolve("m.json") + "\n  collateral_dir: "
        + dir.resolve("collateral") + "\n  sealing_key: " + dir.resolve("sealing.key") + "\n"), "site-1", channel);
    assertThat(sealer.toString()).contains("sev-snp").contains("measurement");
  }

  @Test
  void mixingPlatformsOrMissingAPinIsRefusedByName() throws Exception {
    measurements(SNP);
    assertThatThrownBy(() -> service.sealer(new ConfigDir("site.yaml", dir), kit("  expected_measurements: " + dir.resolve("m.json")
        + "\n  expected_pcrs: x.json\n  sealing_key: " + dir.resolve("sealing.key") + "\n"), "site-1", channel))
        .hasMessageContaining("exclude each other");
    measurements(SNP.replace("\"measurement\"", "\"host_data\"").replace("ab".repeat(48), "ab".repeat(32)));
    assertThatThrownBy(() -> service.sealer(new ConfigDir("site.yaml", dir), kit("  expected_measurements: " + dir.resolve("m.json")
        + "\n  sealing_key: " + dir.resolve("sealing.key") + "\n"), "site-1", channel))
        .hasMessageContaining("lack 'measurement'");
    measurements(SNP.replace("sev-snp", "nitro"));
    assertThatThrownBy(() -> service.sealer(new ConfigDir("site.yaml", dir), kit("  expected_measurements: " + dir.resolve("m.json")
        + "\n  sealing_key: " + dir.resolve("sealing.key") + "\n"), "site-1", channel))
        .hasMessageContaining("nitro");
  }
}
