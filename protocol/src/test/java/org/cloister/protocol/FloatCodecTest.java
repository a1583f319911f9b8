package org.cloister.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FloatCodecTest {
  @Test
  void roundTripsAndIsLittleEndian() {
    byte[] b = FloatCodec.encode(new float[] {1.0f, -2.5f});
    // 1.0f = 0x3F800000, little-endian
    assertThat(b).startsWith((byte) 0, (byte) 0, (byte) 0x80, (byte) 0x3F);
    assertThat(FloatCodec.decode(b, 2)).containsExactly(1.0f, -2.5f);
  }

  @Test
  void wrongSizesAreNamed() {
    assertThatThrownBy(() -> FloatCodec.decode(new byte[7], -1)).hasMessageContaining("7 bytes");
    assertThatThrownBy(() -> FloatCodec.decode(new byte[8], 3)).hasMessageContaining("expected 3");
  }

  @Test
  void decodesAByteStringInPlaceWhateverItsPartsAndTheDigestIsThatOfItsBytes() {
    SplittableRandom rnd = new SplittableRandom(7);
    float[] values = new float[1001];
    for (int i = 0; i < values.length; i++) {
      values[i] = Float.intBitsToFloat(rnd.nextInt()); // every bit pattern, NaNs included
    }
    byte[] bytes = FloatCodec.encode(values);
    // a rope whose parts end inside values (1, 2, 3 bytes in), as a parsed or concatenated ByteString can be
    ByteString rope = ByteString.EMPTY;
    int at = 0;
    for (int cut : new int[] {1, 6, 7, 400, 401, 2001, 4003}) {
      rope = rope.concat(ByteString.copyFrom(bytes, at, cut - at));
      at = cut;
    }
    rope = rope.concat(ByteString.copyFrom(bytes, at, bytes.length - at));
    assertThat(rope.asReadOnlyByteBufferList()).hasSizeGreaterThan(1);
    float[] decoded = FloatCodec.decode(rope, values.length);
    int[] expectedBits = new int[values.length];
    int[] decodedBits = new int[values.length];
    for (int i = 0; i < values.length; i++) {
      expectedBits[i] = Float.floatToRawIntBits(values[i]);
      decodedBits[i] = Float.floatToRawIntBits(decoded[i]);
    }
    assertThat(decodedBits).containsExactly(expectedBits);
    assertThat(FloatCodec.decode(ByteString.copyFrom(bytes), -1)).hasSize(values.length);
    assertThat(FloatCodec.sha256(rope)).containsExactly(FloatCodec.sha256(bytes));
    assertThat(FloatCodec.sha256(bytes, 5, 100)).containsExactly(FloatCodec.sha256(Arrays.copyOfRange(bytes, 5, 105)));
    assertThatThrownBy(() -> FloatCodec.decode(ByteString.copyFrom(new byte[7]), -1)).hasMessageContaining("7 bytes");
    assertThatThrownBy(() -> FloatCodec.decode(ByteString.copyFrom(new byte[8]), 3)).hasMessageContaining("expected 3");
  }
}
