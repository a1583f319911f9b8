package org.cloister.site.agent;

import java.util.Map;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.RoundTask;

/**
 * Turns an update into the bytes that leave the hospital. The production sealer encrypts to the
 * attested aggregator enclave; {@link #plaintext()} sends raw floats and is for the non-private
 * development baseline only.
 */
public interface UpdateSealer {

  record Sealed(String format, byte[] payload, Map<String, String> metadata) {
    public Sealed {
      metadata = Map.copyOf(metadata);
    }
  }

  Sealed seal(RoundTask task, float[] delta);

  /** No encryption: the coordinator can read the update. Development baseline only. */
  static UpdateSealer plaintext() {
    return (task, delta) -> new Sealed(FloatCodec.DELTA_F32LE, FloatCodec.encode(delta), Map.of());
  }
}
