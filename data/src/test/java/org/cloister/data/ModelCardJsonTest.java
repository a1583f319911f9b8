package org.cloister.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The model card's JSON on Jackson's streaming core against the reference it replaced (so the inference enclave
 * carries no databind), Jackson databind with the settings ModelCard used: the same canonical bytes for seeded
 * random cards (the SHA-256 clients check against the enclave's ServedModel and the bytes inside measured
 * inference policies are unchanged), the same card parsed back, and malformed cards refused naming the field.
 */
class ModelCardJsonTest {
  private static final ObjectMapper DATABIND = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(SerializationFeature.INDENT_OUTPUT);

  private static Double maybe(Random r, double v) {
    return r.nextInt(4) == 0 ? null : v;
  }

  private static double awkward(Random r) {
    return switch (r.nextInt(5)) {
      case 0 -> r.nextInt(1000) - 500; // integral: written 12.0
      case 1 -> r.nextGaussian() * 1e-9; // tiny: exponent form
      case 2 -> r.nextGaussian() * 1e12;
      case 3 -> 1.0 / 3.0;
      default -> r.nextGaussian() * 50;
    };
  }

  static ModelCard random(Random r) {
    List<ModelCard.ClassEntry> classes = new ArrayList<>();
    int k = 2 + r.nextInt(4);
    for (int i = 0; i < k; i++) {
      classes.add(new ModelCard.ClassEntry(i + (r.nextBoolean() ? "" : "-x\u00e9\"q"), r.nextBoolean() ? null : "class \\" + i));
    }
    List<ModelCard.Feature> features = new ArrayList<>();
    int n = 1 + r.nextInt(12);
    while (features.size() < n) {
      String name = "f" + features.size() + (r.nextBoolean() ? "" : " (mg/dL) \u00b5\t");
      String transform = List.of("identity", "log", "asinh").get(r.nextInt(3));
      double a = awkward(r);
      double b = a + Math.abs(awkward(r)) + 1e-3;
      ModelCard.Feature f = r.nextInt(3) == 0
          ? new ModelCard.Feature(name, "private", transform, a, b, null, null)
          : new ModelCard.Feature(name, "public", transform, maybe(r, a), maybe(r, b), awkward(r),
              Math.abs(awkward(r)) + 1e-6);
      try {
        f.rule(); // only cards the trainer accepts
        features.add(f);
      } catch (IllegalArgumentException e) {
        // drawn again
      }
    }
    return new ModelCard(ModelCard.FORMAT, "study-" + r.nextInt(100), classes, features);
  }

  @Test
  void writesDatabindsBytesAndReadsWhatDatabindReadsOnSeededRandomCards() throws Exception {
    Random r = new Random(16_2026);
    for (int i = 0; i < 200; i++) {
      ModelCard card = random(r);
      byte[] reference = DATABIND.writeValueAsBytes(card);
      assertThat(new String(card.toJson(), StandardCharsets.UTF_8)).as("card %d", i)
          .isEqualTo(new String(reference, StandardCharsets.UTF_8));
      assertThat(ModelCard.parse(reference, "t")).isEqualTo(card).isEqualTo(DATABIND.readValue(reference, ModelCard.class));
    }
  }

  @Test
  void theWdbcCardKeepsItsBytes() throws Exception {
    ModelCard wdbc = BuiltinDatasets.wdbcCard("wdbc-study");
    assertThat(wdbc.toJson()).isEqualTo(DATABIND.writeValueAsBytes(wdbc));
  }

  @Test
  void aMissingBoundReadsAsUnboundedAndANumericLabelAsItsTextAsDatabindDid() throws Exception {
    String json = """
        {"format":"cloister-model-card/v1","study_id":"s","classes":[{"label":0},{"label":1,"name":"yes"}],
         "features":[{"name":"age","kind":"public","transform":"identity","centre":50,"scale":10}]}""";
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    ModelCard card = ModelCard.parse(b, "t");
    assertThat(card).isEqualTo(DATABIND.readValue(b, ModelCard.class));
    assertThat(card.features().get(0).lo()).isNull();
    assertThat(card.classNames()).containsExactly("0", "yes");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{\"format\":\"cloister-model-card/v1\",\"study_id\":\"s\",\"extra\":1}|unknown field \"extra\"|$.extra",
      "{\"format\":\"cloister-model-card/v1\",\"format\":\"cloister-model-card/v1\"}|Duplicate field 'format'|format",
      "{\"format\":\"cloister-model-card/v1\",\"study_id\":\"s\",\"classes\":[{\"label\":\"0\"},{\"label\":\"1\"}],"
          + "\"features\":[{\"name\":\"a\",\"kind\":\"public\",\"transform\":\"identity\",\"lo\":\"0\",\"centre\":0,"
          + "\"scale\":1}]}|expected a number, got a string|$.features[0].lo",
      "{\"format\":\"cloister-model-card/v1\",\"study_id\":\"s\",\"classes\":[{\"label\":\"0\",\"colour\":1}]}"
          + "|unknown field \"colour\"|$.classes[0].colour",
      "{\"format\":\"cloister-model-card/v1\",\"study_id\":\"s\",\"classes\":[{\"label\":\"0\"},{\"label\":\"1\"}],"
          + "\"features\":[]} {}|content after the card|$",
      "{\"format\":\"cloister-model-card/v1\",\"study_id\":\"s\",\"classes\":[{\"label\":\"0\"}],\"features\":[]}"
          + "|at least two classes|$",
      "{\"format\":\"cloister-model-card/v1\",\"study_id\":\"s\",\"features\":[]}|model card: classes|$",
      "[1]|expected an object, got an array|$",
  })
  void aMalformedCardIsRefusedNamingTheSourceAndTheField(String json, String problem, String path) {
    assertThatThrownBy(() -> ModelCard.parse(json.getBytes(StandardCharsets.UTF_8), "kits/site-1/model-card.json"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("kits/site-1/model-card.json: not a valid model card (cloister-model-card/v1): ")
        .hasMessageContaining(problem).hasMessageContaining(path);
  }
}
