package org.cloister.cli.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** docs/schemas/{coordinator,site,consortium,operator}.md list exactly the keys their records bind, and mark the required ones. */
class ConfigSchemaDocTest {

  private static Path doc(String name) {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path p = d.resolve("docs/schemas/" + name);
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new AssertionError("docs/schemas/" + name + " not found above " + Path.of("").toAbsolutePath());
  }

  /** Every key path the record binds; a map of records adds {@code KEY.*.SUBKEY}. */
  static void keys(Class<?> record, String prefix, Set<String> all, Set<String> required) {
    for (RecordComponent c : record.getRecordComponents()) {
      JsonProperty p = c.getAccessor().getAnnotation(JsonProperty.class);
      String name = prefix + (p != null ? p.value() : c.getName());
      all.add(name);
      if (p != null && p.required()) {
        required.add(name);
      }
      if (c.getType().isRecord()) {
        keys(c.getType(), name + ".", all, required);
      } else if (Map.class.isAssignableFrom(c.getType()) && c.getGenericType() instanceof ParameterizedType t) {
        Type value = t.getActualTypeArguments()[1];
        if (value instanceof Class<?> v && v.isRecord()) {
          keys(v, name + ".*.", all, required);
        }
      }
    }
  }

  @ParameterizedTest
  @CsvSource({"coordinator.md, org.cloister.cli.config.CoordinatorFile",
      "site.md, org.cloister.cli.config.SiteFile",
      "consortium.md, org.cloister.cli.config.ConsortiumFile",
      "operator.md, org.cloister.cli.config.OperatorFile"})
  void theSchemaDocumentListsEveryKeyTheRecordsBind(String document, String recordClass) throws Exception {
    Set<String> bound = new TreeSet<>();
    Set<String> required = new TreeSet<>();
    keys(Class.forName(recordClass), "", bound, required);
    String text = Files.readString(doc(document));
    Set<String> documented = new TreeSet<>();
    Matcher m = Pattern.compile("(?m)^\\| `([a-z_.*]+)` \\|").matcher(text);
    while (m.find()) {
      documented.add(m.group(1));
    }
    assertThat(bound).isNotEmpty();
    assertThat(documented).as(document).isEqualTo(bound);
    // the "required" column starts with "yes" for every key a record requires
    Set<String> documentedRequired = new TreeSet<>();
    Matcher r = Pattern.compile("(?m)^\\| `([a-z_.*]+)` \\| [^|]+ \\| yes").matcher(text);
    while (r.find()) {
      documentedRequired.add(r.group(1));
    }
    assertThat(documentedRequired).as(document + ": keys documented as required").containsAll(required);
  }
}
