package org.cloister.enclave.runtime;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;

/**
 * The JSON of measured files (an enclave's configuration and policy, whose bytes are PCR1 and
 * PCR2): strict parsing (unknown fields, nulls for numbers and missing fields are errors) and one
 * canonical, indented form for what a consortium writes and measures.
 */
public final class MeasuredJson {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
      .enable(SerializationFeature.INDENT_OUTPUT);

  private MeasuredJson() {
  }

  /**
   * @param what names the document in the error, e.g. {@code "aggregation policy"}
   * @throws IllegalArgumentException "WHAT is not valid: first line of the root cause"
   */
  public static <T> T parse(byte[] json, Class<T> type, String what) {
    try {
      return JSON.readValue(json, type);
    } catch (IOException e) {
      throw new IllegalArgumentException(what + " is not valid: " + rootMessage(e), e);
    }
  }

  /** The canonical bytes of {@code value}. */
  public static byte[] write(Object value) {
    try {
      return JSON.writeValueAsBytes(value);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
  }
}
