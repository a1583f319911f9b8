package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** docs/schemas/scenario.md lists exactly the keys ScenarioFile binds. */
class ScenarioSchemaDocTest {

  private static Path doc() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path p = d.resolve("docs/schemas/scenario.md");
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new AssertionError("docs/schemas/scenario.md not found above " + Path.of("").toAbsolutePath());
  }

  private static void keys(Class<?> record, String prefix, Set<String> out) {
    for (RecordComponent c : record.getRecordComponents()) {
      JsonProperty p = c.getAccessor().getAnnotation(JsonProperty.class);
      String name = prefix + (p != null ? p.value() : c.getName());
      out.add(name);
      if (c.getType().isRecord()) {
        keys(c.getType(), name + ".", out);
      }
    }
  }

  @Test
  void theSchemaDocumentListsEveryKeyTheRecordsBind() throws IOException {
    Set<String> bound = new TreeSet<>();
    keys(ScenarioFile.class, "", bound);
    Set<String> documented = new TreeSet<>();
    Matcher m = Pattern.compile("(?m)^\\| `([a-z_.]+)` \\|").matcher(Files.readString(doc()));
    while (m.find()) {
      documented.add(m.group(1));
    }
    assertThat(bound).contains("dp.enabled", "strategy");
    assertThat(documented).isEqualTo(bound);
  }
}
