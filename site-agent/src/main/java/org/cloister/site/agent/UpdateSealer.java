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

  /**
   * A fresh nonce for the round challenge of the task the next poll may bring (sent with that poll, so
   * the coordinator can hand the enclave's challenge over it out with the task), or null when the sealer
   * needs none. Drawn anew for every poll; only the latest one is ever accepted.
   */
  default com.google.protobuf.ByteString pollNonce() {
    return null;
  }

  /**
   * What the coordinator handed out with a task ({@code PollTaskResponse}), each empty when absent: the
   * enclave's round challenge over the nonce of the poll that brought the task (a serialized {@code
   * RoundChallenge}) and this member's sealed copy of the model's content key (a serialized {@code
   * SealedModelCopy}). Untrusted: the attested sealer checks them exactly as what it fetches itself.
   */
  record Attached(com.google.protobuf.ByteString roundChallenge, com.google.protobuf.ByteString sealedModelCopy) {
    public static final Attached NONE = new Attached(com.google.protobuf.ByteString.EMPTY,
        com.google.protobuf.ByteString.EMPTY);

    public Attached {
      java.util.Objects.requireNonNull(roundChallenge, "roundChallenge");
      java.util.Objects.requireNonNull(sealedModelCopy, "sealedModelCopy");
    }

    /** A round challenge alone. */
    public static Attached challenge(com.google.protobuf.ByteString roundChallenge) {
      return new Attached(roundChallenge, com.google.protobuf.ByteString.EMPTY);
    }
  }

  /**
   * As {@link #openGlobalModel(RoundTask, int)}, with what the coordinator handed out with the task. The
   * attested sealer verifies the round challenge exactly as one it asked for and opens the sealed copy
   * exactly as a fetched one, and asks (or fetches) itself when one is absent or refused.
   */
  default float[] openGlobalModel(RoundTask task, int dimension, Attached attached) {
    return openGlobalModel(task, dimension);
  }

  /** No encryption: the coordinator can read the update. Development baseline only. */
  static UpdateSealer plaintext() {
    return (task, delta) -> new Sealed(FloatCodec.DELTA_F32LE, FloatCodec.encode(delta), Map.of());
  }
}
