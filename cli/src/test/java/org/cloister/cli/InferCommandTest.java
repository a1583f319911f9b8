package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Usage and input errors of {@code infer}: clear messages, exit 2, nothing sent or started. */
class InferCommandTest {
  static final String PCR0 = "0=" + "ab".repeat(48);

  @Test
  void aQueryWithoutExpectedPcrsIsRefusedBeforeAnythingIsSent() {
    CloisterCommandTest.Run r = CloisterCommandTest.run("infer", "query", "--host", "127.0.0.1:1", "--features", "1,2,3");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("at least PCR0").contains("no query is sent");
  }

  @Test
  void nonNumericFeaturesNameTheLineAndColumnButNotTheValue(@TempDir Path dir) throws Exception {
    CloisterCommandTest.Run row = CloisterCommandTest.run("infer", "query", "--host", "127.0.0.1:1",
        "--expect-pcr", PCR0, "--features", "1.5,tumour,3");
    assertThat(row.code()).isEqualTo(2);
    assertThat(row.err()).contains("line 1, column 2: not a number").doesNotContain("tumour");
    Path csv = dir.resolve("rows.csv");
    Files.writeString(csv, "radius,texture\n1.0,2.0\n3.0,\n");
    CloisterCommandTest.Run file = CloisterCommandTest.run("infer", "query", "--host", "127.0.0.1:1",
        "--expect-pcr", PCR0, "--features", csv.toString());
    assertThat(file.code()).isEqualTo(2);
    assertThat(file.err()).contains("line 3, column 2: empty value");
    // a mistyped file name is a missing file, not a row whose first value is not a number
    CloisterCommandTest.Run missing = CloisterCommandTest.run("infer", "query", "--host", "127.0.0.1:1",
        "--expect-pcr", PCR0, "--features", dir.resolve("rowz.csv").toString());
    assertThat(missing.code()).isEqualTo(2);
    assertThat(missing.err()).contains("--features: no file " + dir.resolve("rowz.csv"))
        .doesNotContain("not a number").doesNotContain("Exception");
  }

  @Test
  void servingAStudyDirectoryWithoutAConsortiumSaysWhatIsMissing(@TempDir Path dir) {
    CloisterCommandTest.Run r = CloisterCommandTest.run("infer", "serve", "--study-dir", dir.toString(),
        "--model-version", "2");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("study.json not found").contains("consortium");
  }

  /** A consortium directory as a simulation leaves it: study.json, one published artifact. */
  private static Path simulatedStudy(Path dir, String studyJson) throws Exception {
    Path consortium = Files.createDirectories(dir.resolve("consortium"));
    Files.writeString(consortium.resolve("study.json"), studyJson);
    Path v1 = Files.createDirectories(consortium.resolve("coordinator-store/s1/v1"));
    Files.write(v1.resolve("model.bin"), new byte[] {1, 2, 3});
    return consortium;
  }

  @Test
  void aSimulationsModelIsRefusedUnlessExplicitlyAllowed(@TempDir Path dir) throws Exception {
    simulatedStudy(dir, "{\"study_id\":\"s1\",\"model_name\":\"logreg\",\"dimension\":62,\"num_features\":30,"
        + "\"num_classes\":2,\"simulation_only\":true}");
    CloisterCommandTest.Run r = CloisterCommandTest.run("infer", "serve", "--study-dir", dir.toString(),
        "--model-version", "1");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("model version 1 of study s1 comes from a simulation")
        .contains("no privacy guarantee").contains("--allow-simulation-model");
    // allowed explicitly: it goes on (and fails later here, on the missing enclave configuration)
    CloisterCommandTest.Run allowed = CloisterCommandTest.run("infer", "serve", "--study-dir", dir.toString(),
        "--model-version", "1", "--allow-simulation-model");
    assertThat(allowed.err()).doesNotContain("comes from a simulation").contains("NO privacy guarantee");
  }

  @Test
  void aStudyWithoutProvenanceCountsAsASimulation(@TempDir Path dir) throws Exception {
    // study.json files written before the field existed were all simulations': fail closed
    simulatedStudy(dir, "{\"study_id\":\"s1\",\"model_name\":\"logreg\",\"dimension\":62,\"num_features\":30,"
        + "\"num_classes\":2}");
    CloisterCommandTest.Run r = CloisterCommandTest.run("infer", "serve", "--study-dir", dir.toString(),
        "--model-version", "1");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("comes from a simulation");
  }

  @Test
  void servicesRefuseToStartFromASimulationsDirectory(@TempDir Path dir) throws Exception {
    org.cloister.consortium.inference.SimulationOnly.mark(dir);
    Path kit = Files.createDirectories(dir.resolve("kits/coordinator"));
    Files.writeString(kit.resolve("coordinator.yaml"), "study: {}\n");
    Files.writeString(kit.resolve("site.yaml"), "site: {}\n");
    for (String[] cmd : new String[][] {{"coordinator", "start"}, {"site", "start"}}) {
      String yaml = cmd[0] + ".yaml";
      CloisterCommandTest.Run r = CloisterCommandTest.run(cmd[0], cmd[1], "--config", kit.resolve(yaml).toString());
      assertThat(r.code()).as(cmd[0]).isEqualTo(2);
      assertThat(r.err()).contains("comes from a simulation").contains("--allow-simulation-model");
      CloisterCommandTest.Run allowed = CloisterCommandTest.run(cmd[0], cmd[1], "--config",
          kit.resolve(yaml).toString(), "--allow-simulation-model");
      assertThat(allowed.err()).as(cmd[0]).doesNotContain("comes from a simulation");
    }
  }

  @Test
  void everyPartysExpectedPcrsFileIsReadAndTheRetiredFormatsAreRefusedByName(@TempDir Path dir) throws Exception {
    // a site kit's expected-pcrs.json (as provision writes it) pins the client too: it gets past pinning and
    // fails only on the unreachable host (it crashed with a NumberFormatException when two formats shared the name)
    Path kitFile = dir.resolve("expected-pcrs.json");
    java.util.Map<Integer, byte[]> pcrs = new java.util.TreeMap<>();
    for (int i = 0; i <= 2; i++) {
      pcrs.put(i, org.cloister.trust.attestation.nitro.SimulatedPcrs.measure(new byte[] {(byte) i}));
    }
    org.cloister.consortium.SecureAggregationSetup.writePcrs(kitFile, pcrs);
    assertThat(Files.readString(kitFile)).contains("\"format\" : \"cloister-measurements/v1\"");
    CloisterCommandTest.Run kit = CloisterCommandTest.run("infer", "query", "--host", "127.0.0.1:1",
        "--expect-pcrs", kitFile.toString(), "--features", "1,2,3");
    assertThat(kit.code()).as(kit.err()).isEqualTo(1);
    assertThat(kit.err()).doesNotContain("NumberFormatException").doesNotContain("--expect-pcrs");

    String hex = "ab".repeat(48);
    Path bare = dir.resolve("inference-expected-pcrs.json");
    Files.writeString(bare, "{\"0\": \"" + hex + "\", \"1\": \"" + hex + "\", \"2\": \"" + hex + "\"}");
    Path old = dir.resolve("old-expected-pcrs.json");
    Files.writeString(old, "{\"format\": \"cloister-expected-pcrs/v1\", \"pcrs\": {\"0\": \"" + hex + "\"}}");
    Path unknown = dir.resolve("unknown.json");
    Files.writeString(unknown, "{\"format\": \"something/v9\"}");
    for (Path f : java.util.List.of(bare, old)) {
      CloisterCommandTest.Run r = CloisterCommandTest.run("infer", "query", "--host", "127.0.0.1:1",
          "--expect-pcrs", f.toString(), "--features", "1,2,3");
      assertThat(r.code()).as(f.toString()).isEqualTo(2);
      assertThat(r.err()).contains("--expect-pcrs").contains(f.toString()).contains("retired")
          .contains("cloister-measurements/v1").doesNotContain("Exception");
    }
    CloisterCommandTest.Run r = CloisterCommandTest.run("infer", "query", "--host", "127.0.0.1:1",
        "--expect-pcrs", unknown.toString(), "--features", "1,2,3");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("'something/v9'").contains("expected cloister-measurements/v1");
  }

  @Test
  void badPcrAndEndpointArgumentsAreUsageErrors() {
    assertThat(CloisterCommandTest.run("infer", "query", "--expect-pcr", "0=zz", "--features", "1").err())
        .contains("is not hex");
    assertThat(CloisterCommandTest.run("infer", "query", "--host", "nohostport", "--expect-pcr", PCR0,
        "--features", "1").err()).contains("--host must be HOST:PORT");
  }

  @Test
  void dropTellsTheRunningEnclaveOverItsLocalChannelAndNamesAMissingServer(@TempDir Path dir) throws Exception {
    CloisterCommandTest.Run none = CloisterCommandTest.run("infer", "drop", "--study-dir", dir.toString());
    assertThat(none.code()).isEqualTo(1);
    assertThat(none.err()).contains("no running `infer serve`");

    // the enclave's admin service (its drop behaviour is tested with the real enclave in InferenceTierTest)
    java.util.concurrent.atomic.AtomicReference<String> reason = new java.util.concurrent.atomic.AtomicReference<>();
    io.grpc.Server admin = io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder
        .forAddress(new java.net.InetSocketAddress("127.0.0.1", 0))
        .addService(new org.cloister.protocol.v1.InferenceAdminGrpc.InferenceAdminImplBase() {
          @Override
          public void dropModel(org.cloister.protocol.v1.DropModelRequest req,
                                io.grpc.stub.StreamObserver<org.cloister.protocol.v1.DropModelResponse> out) {
            reason.set(req.getReason());
            out.onNext(org.cloister.protocol.v1.DropModelResponse.newBuilder().setDropped(true).build());
            out.onCompleted();
          }
        }).build().start();
    try {
      Path inference = Files.createDirectories(dir.resolve("consortium/inference"));
      Files.writeString(inference.resolve(InferCommand.ENCLAVE_ADDRESS_FILE), "127.0.0.1:" + admin.getPort() + "\n");
      CloisterCommandTest.Run r = CloisterCommandTest.run("infer", "drop", "--study-dir", dir.toString(),
          "--reason", "key compromised");
      assertThat(r.code()).isEqualTo(0);
      assertThat(r.out()).contains("erased the model");
      assertThat(reason.get()).isEqualTo("key compromised");
    } finally {
      admin.shutdownNow();
    }
  }
}
