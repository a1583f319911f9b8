package org.cloister.protocol;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** Encodes parameter vectors as raw little-endian float32, the plaintext payload formats. */
public final class FloatCodec {
  /** Format name of a full weight vector. */
  public static final String WEIGHTS_F32LE = "f32le";
  /** Format name of an update (local minus global weights). */
  public static final String DELTA_F32LE = "f32le-delta";

  private FloatCodec() {
  }

  public static byte[] encode(float[] values) {
    ByteBuffer buf = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(values);
    return buf.array();
  }

  public static float[] decode(byte[] bytes, int expectedDimension) {
    if (bytes.length % Float.BYTES != 0) {
      throw new IllegalArgumentException("payload of " + bytes.length + " bytes is not a whole number of float32 values");
    }
    int n = bytes.length / Float.BYTES;
    if (expectedDimension >= 0 && n != expectedDimension) {
      throw new IllegalArgumentException("payload has " + n + " values, expected " + expectedDimension);
    }
    float[] out = new float[n];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  public static float[] decode(ByteString bytes, int expectedDimension) {
    return decode(bytes.toByteArray(), expectedDimension);
  }

  public static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
