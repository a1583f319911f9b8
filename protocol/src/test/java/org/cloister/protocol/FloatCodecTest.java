package org.cloister.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
}
