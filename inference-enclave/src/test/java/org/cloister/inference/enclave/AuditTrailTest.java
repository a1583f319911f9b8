package org.cloister.inference.enclave;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit lines on Jackson's streaming core against the reference they replaced in the inference image, Jackson
 * databind's {@code writeValueAsString} of the same maps: the same line for seeded random records (so tools that read
 * the audit log see no change), and a value type the trail does not record refused by name.
 */
class AuditTrailTest {
  private static final ObjectMapper DATABIND = new ObjectMapper();

  private static String text(Random r) {
    StringBuilder b = new StringBuilder();
    String alphabet = "az09-_ \"\\/\u00e9\u2028\n\t<>&'";
    for (int i = r.nextInt(12); i > 0; i--) {
      b.append(r.nextInt(10) == 0 ? (char) r.nextInt(32) : alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  @Test
  void writesTheLinesDatabindWroteForSeededRandomRecords() throws Exception {
    Random r = new Random(8);
    for (int i = 0; i < 500; i++) {
      Map<String, Object> record = new LinkedHashMap<>();
      for (int f = r.nextInt(8); f >= 0; f--) {
        String key = text(r) + f;
        record.put(key, switch (r.nextInt(5)) {
          case 0 -> text(r);
          case 1 -> r.nextInt();
          case 2 -> r.nextLong();
          case 3 -> r.nextBoolean();
          default -> null;
        });
      }
      assertThat(AuditTrail.line(record)).as("record %d", i).isEqualTo(DATABIND.writeValueAsString(record));
    }
  }

  @Test
  void requestAndEventRecordsAreOneJsonLineEachWithNoPayloadField(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("audit/inference.jsonl");
    Clock clock = Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);
    try (AuditTrail audit = new AuditTrail(file, clock)) {
      audit.request(7, "", "req-1", 3, "ok");
      audit.event("model_dropped", Map.of("model_version", 7L));
    }
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    assertThat(lines).containsExactly(
        "{\"time\":\"2026-01-02T03:04:05Z\",\"event\":\"inference\",\"model_version\":7,"
            + "\"client_id\":\"unauthenticated\",\"request_id\":\"req-1\",\"rows\":3,\"outcome\":\"ok\"}",
        "{\"time\":\"2026-01-02T03:04:05Z\",\"event\":\"model_dropped\",\"model_version\":7}");
  }

  @Test
  void aValueOfAnotherTypeIsRefusedNamingItsField() {
    assertThatThrownBy(() -> AuditTrail.line(Map.of("weights", new float[] {1f})))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("audit field weights");
  }
}
