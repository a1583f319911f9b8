package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.cloister.broker.KeyPolicies;
import org.cloister.consortium.SecureAggregationHost;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.coordinator.enclave.JavaProcess;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.Pem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cloister broker key disable|enable} against a real key broker process: revocation from the shell. */
class BrokerKeyCommandTest {

  @Test
  void theOperatorDisablesAndEnablesTheModelKeyWithTheAdminToken(@TempDir Path dir) throws Exception {
    SecureRandom random = new SecureRandom();
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    CertificateAuthority ca = CertificateAuthority.createRoot("consortium", EcCurve.P256, now.minusSeconds(60),
        now.plus(1, ChronoUnit.DAYS), random);
    Pem.writeCertificates(dir.resolve("ca.crt"), List.of(ca.certificate()));
    Path devRoot = dir.resolve("platform/dev-root.crt");
    SecureAggregationSetup.developmentRoot(devRoot, dir.resolve("platform/dev-root.key"), Clock.systemUTC(), random);
    SecureAggregationSetup.BrokerFiles files = SecureAggregationSetup.brokerDirectory(
        SecureAggregationSetup.brokerTls(ca, dir.resolve("key-broker"), now.minusSeconds(60), now.plus(1, ChronoUnit.DAYS)),
        "model-key", SimulatedPcrs.of(devRoot, "config".getBytes(), "policy".getBytes()), random);
    try (JavaProcess broker = SecureAggregationHost.startBroker(files, dir.resolve("audit.jsonl"), devRoot,
        Duration.ofSeconds(120))) {
      String[] common = {"--broker", "127.0.0.1:" + broker.port(), "--admin-token-file", files.adminToken().toString(),
          "--ca", dir.resolve("ca.crt").toString()};
      CloisterCommandTest.Run off = CloisterCommandTest.run(concat(new String[] {"broker", "key", "disable", "model-key"}, common));
      assertThat(off.code()).as(off.err()).isZero();
      assertThat(off.out()).contains("key model-key: DISABLED").contains("refused to every enclave");
      assertThat(KeyPolicies.load(files.policies()).get("model-key").orElseThrow().enabled()).isFalse();

      CloisterCommandTest.Run on = CloisterCommandTest.run(concat(new String[] {"broker", "key", "enable", "model-key"}, common));
      assertThat(on.code()).as(on.err()).isZero();
      assertThat(on.out()).contains("key model-key: enabled");
      assertThat(KeyPolicies.load(files.policies()).get("model-key").orElseThrow().enabled()).isTrue();

      // a wrong token and an unknown key: one line each, exit 1, nothing changed
      Files.writeString(dir.resolve("wrong.token"), "not-the-token");
      String[] wrong = common.clone();
      wrong[3] = dir.resolve("wrong.token").toString();
      CloisterCommandTest.Run denied = CloisterCommandTest.run(concat(new String[] {"broker", "key", "disable", "model-key"}, wrong));
      assertThat(denied.code()).isEqualTo(1);
      assertThat(denied.err()).contains("UNAUTHENTICATED").doesNotContain("Exception");
      assertThat(KeyPolicies.load(files.policies()).get("model-key").orElseThrow().enabled()).isTrue();
      CloisterCommandTest.Run unknown = CloisterCommandTest.run(concat(new String[] {"broker", "key", "describe", "nope"}, common));
      assertThat(unknown.code()).isEqualTo(1);
      assertThat(unknown.err()).startsWith("broker key: ").contains("nope");
    }
    String audit = Files.readString(dir.resolve("audit.jsonl"));
    assertThat(audit).contains("DisableKey").contains("EnableKey");
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
