package org.cloister.enclave;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the enclave refuses before it serves anything, with a reason naming what is wrong. */
class EnclaveStartTest {
  static final String CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

  static EnclaveConfig config() {
    return new EnclaveConfig(EnclaveConfig.FORMAT, "m", List.of(new EnclaveConfig.Member("site-1", "site", "ab".repeat(32))),
        CA, new EnclaveConfig.KeyBroker("k", CA, "broker"));
  }

  record Result(int code, String out) {
  }

  static Result run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = EnclaveMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Result(code, out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void aPolicyAskingForCentralNoiseIsAcceptedAndTheEnclaveGoesOnToTheBroker(@TempDir Path dir) throws Exception {
    Path c = Files.write(dir.resolve("c.json"), config().toJson());
    Path p = Files.write(dir.resolve("p.json"), new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 10, 1.0, 1, 3, new AggregationPolicy.CentralDp(1.0, 1.1, 3, 10, 1e-5),
        AggregationPolicy.FEDAVG).toJson());
    Result r = run("--config", c.toString(), "--policy", p.toString(), "--broker", "127.0.0.1:1");
    // the secure noise source is wired: the policy passes, and the start fails only at the (unreachable) broker
    assertThat(r.out()).startsWith(EnclaveMain.FAILED).doesNotContain("central noise");
  }

  @Test
  void usageAndConfigurationErrorsNameWhatIsWrong(@TempDir Path dir) throws Exception {
    assertThat(run("--config").out()).contains("option --config needs a value");
    assertThat(run("--nope", "x").out()).contains("unknown option '--nope'");
    assertThat(run("--config", "c").out()).contains("option --policy is required");
    Path c = Files.writeString(dir.resolve("c.json"), new String(config().toJson(), StandardCharsets.UTF_8)
        .replace("ab".repeat(32), "xyz"));
    Path p = Files.write(dir.resolve("p.json"), new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 10, 1.0, 1, 3, null,
        AggregationPolicy.FEDAVG).toJson());
    assertThat(run("--config", c.toString(), "--policy", p.toString(), "--broker", "127.0.0.1:1").out())
        .contains("member site-1: sealing_public_key must be 64 hex digits");
    Path p0 = Files.writeString(dir.resolve("p0.json"), new String(Files.readAllBytes(p), StandardCharsets.UTF_8)
        .replace("\"max_update_l2_norm\" : 1.0", "\"max_update_l2_norm\" : -1.0"));
    assertThat(run("--config", Files.write(dir.resolve("c2.json"), config().toJson()).toString(), "--policy",
        p0.toString(), "--broker", "127.0.0.1:1").out()).contains("max_update_l2_norm must be a positive finite number");
    assertThatThrownBy(() -> new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 10, 1.0, 1, 3, null,
        org.cloister.aggregation.strategy.StrategySpec.of("sgd"))).hasMessageContaining("unknown strategy 'sgd'");
    assertThatThrownBy(() -> new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 10, 1.0, 1, 3, null,
        org.cloister.aggregation.strategy.StrategySpec.of("fedadam"))).hasMessageContaining("must give every parameter explicitly");
    assertThatThrownBy(() -> new EnclaveConfig(EnclaveConfig.FORMAT, "m", List.of(new EnclaveConfig.Member("a", "site", "ab".repeat(32)),
        new EnclaveConfig.Member("a", "site", "cd".repeat(32))), CA, new EnclaveConfig.KeyBroker("k", CA, "b")))
        .hasMessageContaining("member a is listed twice");
  }

  @Test
  void theCohortFloorRolesAndConsortiumCaFailClosed(@TempDir Path dir) throws Exception {
    // k below 2, or absent from the measured policy, is refused: never a silent looser default
    assertThatThrownBy(() -> new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 10, 1.0, 1, 1, null,
        AggregationPolicy.FEDAVG)).hasMessageContaining("cohort_floor must be >= 2");
    String policy = new String(new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 10, 1.0, 1, 3, null,
        AggregationPolicy.FEDAVG).toJson(), StandardCharsets.UTF_8);
    assertThatThrownBy(() -> AggregationPolicy.parse(policy.replaceAll("\"cohort_floor\" : 3,", "")
        .getBytes(StandardCharsets.UTF_8))).hasMessageContaining("cohort_floor");
    assertThat(new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 10, 1.0, 4, 3, null,
        AggregationPolicy.FEDAVG).publishFloor()).isEqualTo(4);
    // every member has a role, and an observer is not a site
    assertThatThrownBy(() -> new EnclaveConfig.Member("a", "trainer", "ab".repeat(32)))
        .hasMessageContaining("role must be 'site' or 'observer'");
    assertThat(new EnclaveConfig.Member("eval", "observer", "ab".repeat(32)).trains()).isFalse();
    assertThatThrownBy(() -> new EnclaveConfig(EnclaveConfig.FORMAT, "m", List.of(new EnclaveConfig.Member("a", "site",
        "ab".repeat(32))), null, new EnclaveConfig.KeyBroker("k", CA, "b"))).hasMessageContaining("consortium_ca_pem");
    Path c = Files.write(dir.resolve("c.json"), config().toJson());
    Path p = Files.writeString(dir.resolve("p.json"), policy);
    assertThat(run("--config", c.toString(), "--policy", p.toString(), "--broker", "127.0.0.1:1").out())
        .contains("consortium_ca_pem is not a certificate");
  }
}
