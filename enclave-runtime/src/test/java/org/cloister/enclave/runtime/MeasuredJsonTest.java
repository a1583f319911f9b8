package org.cloister.enclave.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The measured JSON binding on Jackson's streaming core against the independent reference it replaced in the
 * enclave image, Jackson databind with the same strict settings: the same canonical bytes for the same records
 * (so files written before keep their PCRs), the same values parsed back, and every malformed document refused
 * with an error naming the field (where databind coerced, e.g. a string for a number, this binding refuses).
 */
class MeasuredJsonTest {
  private static final ObjectMapper DATABIND = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
      .enable(SerializationFeature.INDENT_OUTPUT);

  record Inner(@JsonProperty("clip_norm") double clipNorm, @JsonProperty("max_releases") int maxReleases,
               @JsonProperty("delta") Double delta) {
    Inner {
      if (maxReleases < 1) {
        throw new IllegalArgumentException("inner.max_releases must be >= 1, got " + maxReleases);
      }
    }
  }

  record Named(String name, Map<String, Double> parameters) {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Sparse(@JsonProperty("label") String label, @JsonProperty("lo") Double lo) {}

  record Doc(@JsonProperty("format") String format,
             @JsonProperty("study_id") String studyId,
             @JsonProperty("dimension") int dimension,
             @JsonProperty("total") long total,
             @JsonProperty("max_update_l2_norm") double norm,
             @JsonProperty("debug") boolean debug,
             @JsonProperty("ids") List<String> ids,
             @JsonProperty("inner") Inner inner,
             @JsonProperty("named") Named named,
             @JsonProperty("sparse") List<Sparse> sparse) {}

  private static Doc random(Random r) {
    Map<String, Double> params = new LinkedHashMap<>();
    for (int i = 0; i < r.nextInt(4); i++) {
      params.put("p" + i, r.nextGaussian() * Math.pow(10, r.nextInt(40) - 20));
    }
    Inner inner = r.nextBoolean() ? null : new Inner(r.nextDouble(), 1 + r.nextInt(1000), r.nextBoolean() ? null : 1e-5);
    return new Doc("cloister-x/v" + r.nextInt(9), "study \"é\" \\ \u0001 " + r.nextInt(), r.nextInt(), r.nextLong(),
        r.nextDouble() * 1e6, r.nextBoolean(), List.of("a", "b" + r.nextInt()), inner,
        new Named("fedavg", params), List.of(new Sparse("x", r.nextBoolean() ? null : 2.0), new Sparse("y", r.nextDouble())));
  }

  @Test
  void writesTheBytesDatabindWroteAndReadsBackWhatItReads() throws Exception {
    Random r = new Random(16);
    for (int i = 0; i < 200; i++) {
      Doc d = random(r);
      byte[] ours = MeasuredJson.write(d);
      assertThat(new String(ours, StandardCharsets.UTF_8))
          .isEqualTo(new String(DATABIND.writeValueAsBytes(d), StandardCharsets.UTF_8));
      assertThat(MeasuredJson.parse(ours, Doc.class, "doc")).isEqualTo(d);
      if (d.sparse().stream().allMatch(x -> x.lo() != null)) {
        assertThat(DATABIND.readValue(ours, Doc.class)).isEqualTo(d);
      }
    }
  }

  private static final String GOOD = """
      {"format":"f","study_id":"s","dimension":3,"total":4,"max_update_l2_norm":1.5,"debug":false,"ids":["a"],
       "inner":{"clip_norm":1,"max_releases":2,"delta":null},"named":{"name":"n","parameters":{"a":1}},"sparse":[]}""";

  @Test
  void theReferenceDocumentParses() {
    Doc d = MeasuredJson.parse(GOOD.getBytes(StandardCharsets.UTF_8), Doc.class, "doc");
    assertThat(d.inner()).isEqualTo(new Inner(1, 2, null));
    assertThat(d.named().parameters()).containsEntry("a", 1.0);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "\"dimension\":3, | \"dimension\":3,\"surprise\":1, | unknown field \"surprise\" (Doc has ",
      "\"total\":4, | '' | missing field \"total\" at $.total",
      "\"dimension\":3 | \"dimension\":null | expected an integer, got null at $.dimension",
      "\"dimension\":3 | \"dimension\":\"3\" | expected an integer, got a string at $.dimension",
      "\"dimension\":3 | \"dimension\":3.5 | expected an integer, got a fractional number at $.dimension",
      "\"dimension\":3 | \"dimension\":3000000000 | 3000000000 is out of range for an int at $.dimension",
      "\"max_update_l2_norm\":1.5 | \"max_update_l2_norm\":\"1.5\" | expected a number, got a string at $.max_update_l2_norm",
      "\"debug\":false | \"debug\":0 | expected true or false, got an integer at $.debug",
      "\"ids\":[\"a\"] | \"ids\":[1] | expected a string, got an integer at $.ids[0]",
      "\"ids\":[\"a\"] | \"ids\":\"a\" | expected an array, got a string at $.ids",
      "\"max_releases\":2 | \"max_releases\":0 | inner.max_releases must be >= 1, got 0 at $.inner",
      "\"clip_norm\":1, | \"clip_norm\":1,\"clip_norm\":2, | Duplicate field 'clip_norm'",
      "\"name\":\"n\" | \"name\":\"n\",\"extra\":true | unknown field \"extra\" (Named has name, parameters) at $.named.extra",
  })
  void malformedDocumentsAreRefusedNamingTheField(String from, String to, String message) {
    String json = GOOD.replace(from, to);
    assertThat(json).isNotEqualTo(GOOD);
    assertThatThrownBy(() -> MeasuredJson.parse(json.getBytes(StandardCharsets.UTF_8), Doc.class, "test document"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("test document is not valid: ")
        .hasMessageContaining(message);
  }

  @Test
  void notJsonTrailingContentAndNullDocumentsAreRefused() {
    assertThatThrownBy(() -> MeasuredJson.parse("{".getBytes(StandardCharsets.UTF_8), Doc.class, "d"))
        .hasMessageStartingWith("d is not valid: ");
    assertThatThrownBy(() -> MeasuredJson.parse((GOOD + " {}").getBytes(StandardCharsets.UTF_8), Doc.class, "d"))
        .hasMessageContaining("content after the document");
    assertThatThrownBy(() -> MeasuredJson.parse("null".getBytes(StandardCharsets.UTF_8), Doc.class, "d"))
        .hasMessageContaining("the document is null");
    assertThatThrownBy(() -> MeasuredJson.parse("".getBytes(StandardCharsets.UTF_8), Doc.class, "d"))
        .hasMessageContaining("no value");
  }
}
