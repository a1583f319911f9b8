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

  /** As {@link #decode(byte[], int)}, read in place from the ByteString (no copy of its bytes). */
  public static float[] decode(ByteString bytes, int expectedDimension) {
    int size = bytes.size();
    if (size % Float.BYTES != 0) {
      throw new IllegalArgumentException("payload of " + size + " bytes is not a whole number of float32 values");
    }
    int n = size / Float.BYTES;
    if (expectedDimension >= 0 && n != expectedDimension) {
      throw new IllegalArgumentException("payload has " + n + " values, expected " + expectedDimension);
    }
    float[] out = new float[n];
    int at = 0; // bytes decoded so far
    int carry = 0; // the bytes of a value split between two parts, little-endian
    for (ByteBuffer part : bytes.asReadOnlyByteBufferList()) {
      ByteBuffer b = part.order(ByteOrder.LITTLE_ENDIAN);
      while (b.hasRemaining() && at % Float.BYTES != 0) { // finish a value a previous part began
        carry |= (b.get() & 0xff) << (8 * (at % Float.BYTES));
        at++;
        if (at % Float.BYTES == 0) {
          out[at / Float.BYTES - 1] = Float.intBitsToFloat(carry);
          carry = 0;
        }
      }
      int whole = b.remaining() / Float.BYTES;
      b.asFloatBuffer().get(out, at / Float.BYTES, whole);
      b.position(b.position() + whole * Float.BYTES);
      at += whole * Float.BYTES;
      while (b.hasRemaining()) { // a value that continues in the next part
        carry |= (b.get() & 0xff) << (8 * (at % Float.BYTES));
        at++;
      }
    }
    return out;
  }

  public static byte[] sha256(byte[] data) {
    return sha256(data, 0, data.length);
  }

  /** SHA-256 of {@code data[off, off+len)}. */
  public static byte[] sha256(byte[] data, int off, int len) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(data, off, len);
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** SHA-256 of the ByteString's bytes, read in place (no copy). */
  public static byte[] sha256(ByteString data) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (ByteBuffer part : data.asReadOnlyByteBufferList()) {
        md.update(part);
      }
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
