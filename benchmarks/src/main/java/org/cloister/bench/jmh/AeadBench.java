package org.cloister.bench.jmh;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import javax.crypto.AEADBadTagException;
import org.cloister.trust.aead.AesGcm;
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
 * The one AES-256-GCM path ({@link AesGcm}): the segmented stream form (4 KiB segments) of an update
 * or model, sealed and opened. Time per operation; MiB/s = bytes / 2^20 / (time in s).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class AeadBench {
  /** Plaintext bytes: one segment, and a 10^6-parameter float32 update. */
  @Param({"4096", "4000000"})
  public int bytes;

  private byte[] key;
  private byte[] nonce;
  private byte[] plain;
  private byte[] sealed;
  private byte[] out;

  @Setup
  public void setUp() {
    SplittableRandom r = new SplittableRandom(1);
    key = bytes(r, AesGcm.KEY_BYTES);
    nonce = bytes(r, AesGcm.NONCE_BYTES);
    plain = bytes(r, bytes);
    sealed = AesGcm.sealStream(key, nonce, null, plain);
    out = new byte[Math.max(sealed.length, plain.length)];
  }

  @Benchmark
  public int sealStream() {
    return AesGcm.sealStream(key, nonce, null, plain, 0, plain.length, out, 0);
  }

  @Benchmark
  public int openStream() throws AEADBadTagException {
    return AesGcm.openStream(key, nonce, null, sealed, 0, sealed.length, out, 0);
  }

  static byte[] bytes(SplittableRandom r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }
}
