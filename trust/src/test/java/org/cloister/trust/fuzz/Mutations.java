package org.cloister.trust.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import java.util.Arrays;

/**
 * Structure-aware inputs for parsers of another party's bytes: either raw fuzzer bytes, or a valid
 * message with a few fuzzer-chosen edits (byte overwrites, a truncation, an inserted run), which
 * reaches the checks behind the first length and tag tests that raw bytes rarely pass.
 */
public final class Mutations {
  private Mutations() {
  }

  public static byte[] from(FuzzedDataProvider data, byte[] valid) {
    if (!data.consumeBoolean()) {
      return data.consumeRemainingAsBytes();
    }
    byte[] out = valid.clone();
    int edits = data.consumeInt(1, 8);
    for (int i = 0; i < edits && data.remainingBytes() > 0; i++) {
      switch (data.consumeInt(0, 3)) {
        case 0 -> {
          if (out.length > 0) {
            out[data.consumeInt(0, out.length - 1)] = data.consumeByte();
          }
        }
        case 1 -> out = Arrays.copyOf(out, data.consumeInt(0, out.length));
        case 2 -> {
          int at = data.consumeInt(0, out.length);
          byte[] run = data.consumeBytes(data.consumeInt(0, 64));
          byte[] next = new byte[out.length + run.length];
          System.arraycopy(out, 0, next, 0, at);
          System.arraycopy(run, 0, next, at, run.length);
          System.arraycopy(out, at, next, at + run.length, out.length - at);
          out = next;
        }
        default -> {
          // a 4-byte little-endian length or offset field set to a fuzzer-chosen int
          if (out.length >= 4) {
            int at = data.consumeInt(0, out.length - 4);
            int v = data.consumeInt();
            for (int b = 0; b < 4; b++) {
              out[at + b] = (byte) (v >>> (8 * b));
            }
          }
        }
      }
    }
    return out;
  }
}
