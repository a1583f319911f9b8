package org.cloister.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A failure inside the broker releases nothing, is logged with its cause and is named to the caller. */
class FailClosedTest {

  private static final class Recorder implements StreamObserver<String> {
    final List<String> values = new ArrayList<>();
    Throwable error;
    boolean completed;

    @Override
    public void onNext(String v) {
      values.add(v);
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onCompleted() {
      completed = true;
    }
  }

  @Test
  void anAuditLogThatCannotBeWrittenReleasesNothingAndIsLoggedAndNamed(@TempDir Path dir) throws Exception {
    AuditLog audit = new AuditLog(dir.resolve("audit.jsonl"), Clock.systemUTC());
    audit.record("release", Map.of("key_id", "k1"));
    assertThat(Files.readString(dir.resolve("audit.jsonl"))).contains("\"key_id\":\"k1\"").endsWith("\n");
    audit.close(); // from now on every write fails, as on a full or vanished disk

    assertThatThrownBy(() -> audit.record("release", Map.of("key_id", "k2")))
        .isInstanceOf(AuditLog.AuditFailure.class).hasMessageContaining("cannot write the key broker audit log");

    Recorder out = new Recorder();
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      KeyBrokerService.respond(out, () -> {
        audit.record("release", Map.of("key_id", "k2"));
        return "the sealed data key";
      });
    } finally {
      System.setErr(err);
    }
    assertThat(out.values).isEmpty(); // fails closed: nothing released
    assertThat(out.completed).isFalse();
    Status status = Status.fromThrowable(out.error);
    assertThat(status.getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(status.getDescription()).contains("audit log cannot be written").contains("no key is released");
    String log = captured.toString(StandardCharsets.UTF_8);
    assertThat(log).contains("ERROR").contains("key broker call failed").contains("AuditFailure")
        .contains("cannot write the key broker audit log").doesNotContain("the sealed data key");
  }

  @Test
  void aBugIsLoggedAndAnsweredInternal() {
    Recorder out = new Recorder();
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      KeyBrokerService.respond(out, () -> {
        throw new NullPointerException("policy table missing");
      });
    } finally {
      System.setErr(err);
    }
    assertThat(Status.fromThrowable(out.error).getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(Status.fromThrowable(out.error).getDescription()).contains("NullPointerException");
    assertThat(captured.toString(StandardCharsets.UTF_8)).contains("policy table missing");
  }
}
