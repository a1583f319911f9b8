package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecureAggregationCommandsTest {

  @Test
  void benchAggregateReportsBothRatesAndTheirRatioAsJson() throws Exception {
    CloisterCommandTest.Run r = CloisterCommandTest.run("bench", "aggregate", "--sites", "3", "--params", "4096",
        "--repeat", "2", "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode n = new ObjectMapper().readTree(r.out());
    assertThat(n.get("sites").asInt()).isEqualTo(3);
    assertThat(n.get("params").asInt()).isEqualTo(4096);
    assertThat(n.get("raw_aes_gcm_decrypt_mib_s").asDouble()).isPositive();
    assertThat(n.get("aggregate_mib_s").asDouble()).isPositive();
    assertThat(n.get("hpke_open_mib_s").asDouble()).isPositive();
    assertThat(n.get("ratio").asDouble()).isPositive();
    assertThat(n.get("kernel").asText()).startsWith("vector-");
    assertThat(n.get("repetitions")).hasSize(2);
  }

  @Test
  void benchAggregateNamesBadValues() {
    CloisterCommandTest.Run r = CloisterCommandTest.run("bench", "aggregate", "--sites", "0");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--sites must be >= 1");
  }

  @Test
  void enclaveMeasurePrintsTheSha384OfImageConfigurationAndPolicy(@TempDir Path dir) throws Exception {
    Path image = dir.resolve("image.jar");
    try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(Files.newOutputStream(image))) {
      z.putNextEntry(new java.util.zip.ZipEntry("A.class"));
      z.write(new byte[] {1, 2, 3});
      z.closeEntry();
    }
    Path policy = dir.resolve("policy.json");
    Files.write(policy, new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 10, 1.0, 1, 2, null,
        AggregationPolicy.FEDAVG).toJson());
    Path config = dir.resolve("config.json");
    Files.writeString(config, """
        {"format":"cloister-enclave-config/v2","module_id":"m",
         "members":[{"id":"site-1","role":"site","sealing_public_key":"%s"}],
         "consortium_ca_pem":"-----BEGIN CERTIFICATE-----\\nx\\n-----END CERTIFICATE-----",
         "key_broker":{"key_id":"k","ca_certificate_pem":"-----BEGIN CERTIFICATE-----\\nx\\n-----END CERTIFICATE-----","server_name":"b"}}
        """.formatted("ab".repeat(32)));
    CloisterCommandTest.Run r = CloisterCommandTest.run("enclave", "measure", "--image", image.toString(), "--config",
        config.toString(), "--policy", policy.toString(), "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode pcrs = new ObjectMapper().readTree(r.out()).get("pcrs");
    assertThat(pcrs.get("0").asText()).isEqualTo(HexFormat.of().formatHex(SimulatedPcrs.measure(image)));
    assertThat(pcrs.get("2").asText()).isEqualTo(HexFormat.of().formatHex(SimulatedPcrs.measure(Files.readAllBytes(policy))));
    JsonNode img = new ObjectMapper().readTree(r.out()).get("image");
    assertThat(img.get("classes").asInt()).isEqualTo(1);
    assertThat(img.get("size_bytes").asLong()).isEqualTo(Files.size(image));
    assertThat(img.get("third_party").isNull()).as("no bill of materials in this jar").isTrue();

    Path notAJar = dir.resolve("not-a-jar");
    Files.writeString(notAJar, "bytes, not a jar");
    CloisterCommandTest.Run refused = CloisterCommandTest.run("enclave", "measure", "--image", notAJar.toString(),
        "--config", config.toString(), "--policy", policy.toString());
    assertThat(refused.code()).isEqualTo(1);
    assertThat(refused.err()).contains("is not a jar");

    Files.writeString(policy, Files.readString(policy).replaceFirst("\\{", "{\"surprise\": 1,"));
    CloisterCommandTest.Run bad = CloisterCommandTest.run("enclave", "measure", "--image", image.toString(), "--config",
        config.toString(), "--policy", policy.toString());
    assertThat(bad.code()).isEqualTo(1);
    assertThat(bad.err()).contains("aggregation policy is not valid").contains("surprise");
  }

  @Test
  void processEntryPointsReportUsageErrors() {
    assertThat(CloisterCommandTest.run("--help").out()).contains("enclave").contains("broker");
    assertThat(CloisterCommandTest.run("enclave").code()).isEqualTo(2);
  }
}
