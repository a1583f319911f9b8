package org.cloister.bench.jmh;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.Arrays;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.hpke.HPKE;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeException;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * HPKE ({@link Hpke}): a whole message sealed and opened, single-shot (an inference query, a member's
 * copy of a content key) and streaming (an update). The X25519 operations and the key schedule are a
 * fixed cost per message; compare with {@link AeadBench} at the same size for the AEAD alone.
 * {@link #openBouncyCastle} and {@link #openStreamBouncyCastle} open the same messages with
 * BouncyCastle's RFC 9180 receiver context (its pure-Java AES-GCM; the stream segment by segment, as
 * {@code ContextR.Open} in order): the measured reason why {@link Hpke} runs its own key schedule over
 * the JDK's AES-GCM (docs/trust.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class HpkeBench {
  private static final byte[] INFO = "cloister/v1 update".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] AAD = "study|round|site".getBytes(StandardCharsets.US_ASCII);

  /** Plaintext bytes: a small query, and a 10^6-parameter float32 update. */
  @Param({"1024", "4000000"})
  public int bytes;

  private Hpke hpke;
  private HpkeKeyPair recipient;
  private byte[] plain;
  private byte[] single;
  private byte[] stream;
  private byte[] out;
  private HPKE bc;
  private AsymmetricCipherKeyPair bcRecipient;
  private byte[] enc;
  private byte[] ciphertext;

  @Setup
  public void setUp() throws HpkeException {
    hpke = new Hpke(new SecureRandom());
    recipient = hpke.deriveKeyPair(new byte[32]);
    plain = AeadBench.bytes(new SplittableRandom(2), bytes);
    single = hpke.seal(recipient.publicKey(), INFO, AAD, plain);
    stream = hpke.sealStream(recipient.publicKey(), INFO, AAD, plain);
    out = new byte[stream.length];
    bc = new HPKE(HPKE.mode_base, HPKE.kem_X25519_SHA256, HPKE.kdf_HKDF_SHA256, HPKE.aead_AES_GCM256);
    bcRecipient = bc.deserializePrivateKey(recipient.privateKey(), recipient.publicKey());
    enc = Arrays.copyOf(single, Hpke.KEY_BYTES);
    ciphertext = Arrays.copyOfRange(single, Hpke.KEY_BYTES, single.length);
  }

  @Benchmark
  public byte[] seal() throws HpkeException {
    return hpke.seal(recipient.publicKey(), INFO, AAD, plain);
  }

  @Benchmark
  public int open() throws HpkeException {
    return hpke.open(recipient, single, 0, single.length, INFO, AAD, out, 0);
  }

  @Benchmark
  public byte[] openBouncyCastle() throws InvalidCipherTextException {
    return bc.setupBaseR(enc, bcRecipient, INFO).open(AAD, ciphertext);
  }

  @Benchmark
  public int openStreamBouncyCastle() throws InvalidCipherTextException {
    org.bouncycastle.crypto.hpke.HPKEContext ctx = bc.setupBaseR(Arrays.copyOf(stream, Hpke.KEY_BYTES), bcRecipient,
        INFO);
    int plain = Hpke.streamPlaintextLength(stream.length);
    int segments = org.cloister.trust.aead.AesGcm.segments(plain);
    int off = Hpke.KEY_BYTES;
    int n = 0;
    for (int i = 0; i < segments; i++) {
      int len = Math.min(org.cloister.trust.aead.AesGcm.SEGMENT_BYTES, plain - i * org.cloister.trust.aead.AesGcm.SEGMENT_BYTES)
          + Hpke.TAG_BYTES;
      byte[] aad = Arrays.copyOf(AAD, AAD.length + 1);
      aad[AAD.length] = (byte) (i == segments - 1 ? 1 : 0);
      n += ctx.open(aad, Arrays.copyOfRange(stream, off, off + len)).length;
      off += len;
    }
    return n;
  }

  @Benchmark
  public byte[] sealStream() throws HpkeException {
    return hpke.sealStream(recipient.publicKey(), INFO, AAD, plain);
  }

  @Benchmark
  public int openStream() throws HpkeException {
    return hpke.openStream(recipient, stream, 0, stream.length, INFO, AAD, out, 0);
  }
}
