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

  /**
   * @param payload        handed over to the agent, which sends it without copying it: the sealer must not
   *                       change it afterwards
   * @param roundChallenge the secure aggregator's verified challenge for the round, which the site's
   *                       signed contribution statement must carry; null when nothing is to be signed
   *                       (the plaintext development baseline)
   */
  record Sealed(String format, byte[] payload, Map<String, String> metadata, byte[] roundChallenge,
                byte[] baseModelSha256) {
    public Sealed {
      metadata = Map.copyOf(metadata);
    }

    public Sealed(String format, byte[] payload, Map<String, String> metadata) {
      this(format, payload, metadata, null, null);
    }
  }

  Sealed seal(RoundTask task, float[] delta);

  /**
   * The global weights the task starts from. The sealer is the site's end of the channel to the
   * aggregator, so it also opens what comes back: the default reads plaintext {@code f32le}
   * weights (development baseline); the attested sealer opens the copy sealed to this site.
   */
  default float[] openGlobalModel(RoundTask task, int dimension) {
    return FloatCodec.decode(task.getModel().getPayload(), dimension);
  }

  /**
   * The final model of a final-evaluation task ({@link RoundTask#getFinalEvaluation()}): opened like
   * {@link #openGlobalModel}, but no round is open at the aggregator, so nothing is asked of it (no
   * challenge: nothing is sealed back). The default is {@link #openGlobalModel}.
   */
  default float[] openFinalModel(RoundTask task, int dimension) {
    return openGlobalModel(task, dimension);
  }

  /** No encryption: the coordinator can read the update. Development baseline only. */
  static UpdateSealer plaintext() {
    return (task, delta) -> new Sealed(FloatCodec.DELTA_F32LE, FloatCodec.encode(delta), Map.of());
  }
}
