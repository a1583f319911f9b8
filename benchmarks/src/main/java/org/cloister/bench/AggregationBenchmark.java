package org.cloister.bench;

import org.cloister.observability.Percentiles;
import com.google.gson.GsonBuilder;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.aggregation.AggregationSession;
import org.cloister.enclave.aggregation.UpdateKernel;
import org.cloister.trust.aead.AesGcm;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeKeyPair;

/**
 * Throughput of the enclave's decrypt-validate-sum path ({@link AggregationSession} exactly as the
 * enclave runs it: HPKE open, finite and norm checks, weighted sum, final mean) for N sites of P
 * float32 parameters, against raw AES-256-GCM decryption (JDK, SunJCE) of N ciphertexts of the same
 * size, measured interleaved in blocks of four updates in the same JVM and run (plus HPKE open
 * alone, to show where the difference goes). Single-threaded, like the enclave's round. Sealing
 * the updates is not timed. Prints JSON.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -Xmx2g -cp ENCLAVE_IMAGE.jar:benchmarks.jar org.cloister.bench.AggregationBenchmark
 *     --sites 100 --params 1000000 [--repeat 5]
 * </pre>
 */
public final class AggregationBenchmark {
  private AggregationBenchmark() {
  }

  public static void main(String[] args) throws Exception {
    int sites = 100;
    int params = 1_000_000;
    int repeat = 7;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--sites" -> sites = Integer.parseInt(args[++i]);
        case "--params" -> params = Integer.parseInt(args[++i]);
        case "--repeat" -> repeat = Integer.parseInt(args[++i]);
        default -> {
          System.err.println("unknown option " + args[i] + " (options: --sites N --params P --repeat R)");
          System.exit(2);
        }
      }
    }
    if (sites < 1 || params < 1 || repeat < 1 || (long) params * Float.BYTES > Integer.MAX_VALUE - 64) {
      System.err.println("--sites, --params and --repeat must be >= 1 and params * 4 must fit in an array");
      System.exit(2);
    }
    Map<String, Object> result = run(sites, params, repeat, System.err);
    // Gson, not Jackson databind: this runs on the enclave image's classes, which carry Gson (gRPC's) and no databind
    System.out.println(new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create().toJson(result));
  }

  static Map<String, Object> run(int sites, int params, int repeat, PrintStream progress) throws GeneralSecurityException {
    SecureRandom random = new SecureRandom();
    Hpke hpke = new Hpke(random);
    HpkeKeyPair enclave = hpke.generateKeyPair();
    AggregationPolicy policy = new AggregationPolicy(AggregationPolicy.FORMAT, "bench", "bench", params, 1e6, 1, 2, null,
        AggregationPolicy.FEDAVG);
    Set<String> members = new java.util.HashSet<>();
    for (int s = 0; s < sites; s++) {
      members.add("site-" + s);
    }
    UpdateKernel kernel = UpdateKernel.best();

    progress.printf(Locale.ROOT, "warming up (%s kernel)...%n", kernel.name());
    warmUp(params, kernel, random, progress);

    progress.printf(Locale.ROOT, "sealing %d updates of %d parameters (not timed)...%n", sites, params);
    byte[][] plaintexts = new byte[Math.min(sites, 4)][];
    SplittableRandom values = new SplittableRandom(42);
    for (int k = 0; k < plaintexts.length; k++) {
      ByteBuffer b = ByteBuffer.allocate(params * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < params; i++) {
        b.putFloat((float) ((values.nextDouble() - 0.5) * 1e-3));
      }
      plaintexts[k] = b.array();
    }
    AggregationSession.RoundContext round = new AggregationSession.RoundContext("bench", 1, "round-1", 1);
    byte[][] sealed = new byte[sites][];
    byte[][] raw = new byte[sites][];
    byte[][] rawNonce = new byte[sites][];
    SecretKeySpec rawKey = new SecretKeySpec(randomBytes(random, 32), "AES");
    for (int s = 0; s < sites; s++) {
      byte[] pt = plaintexts[s % plaintexts.length];
      sealed[s] = hpke.sealStream(enclave.publicKey(), AggregationSession.UPDATE_INFO,
          AggregationSession.aad(round, "site-" + s, params), pt);
      rawNonce[s] = randomBytes(random, 12);
      raw[s] = AesGcm.sealStream(rawKey.getEncoded(), rawNonce[s], new byte[0], pt);
    }
    plaintexts = null;
    byte[] out = new byte[params * Float.BYTES];
    long cipherBytes = 0;
    for (byte[] c : sealed) {
      cipherBytes += c.length;
    }

    List<Map<String, Object>> reps = new ArrayList<>();
    double[] rawRates = new double[repeat];
    double[] openRates = new double[repeat];
    double[] aggRates = new double[repeat];
    double[] ratios = new double[repeat];
    for (int r = 0; r < repeat; r++) {
      // interleaved in blocks of four updates, so both paths see the same machine (other load, turbo)
      long rawNanos = 0;
      long openNanos = 0;
      long aggNanos = 0;
      AggregationSession session = new AggregationSession(policy, members, enclave, hpke, kernel, round, guard());
      for (int b = 0; b < sites; b += 4) {
        int end = Math.min(sites, b + 4);
        long t0 = System.nanoTime();
        for (int s = b; s < end; s++) {
          AesGcm.openStream(rawKey.getEncoded(), rawNonce[s], new byte[0], raw[s], 0, raw[s].length, out, 0);
        }
        long t1 = System.nanoTime();
        for (int s = b; s < end; s++) { // HPKE open alone: where the time between raw and aggregate goes
          hpke.openStream(enclave, sealed[s], 0, sealed[s].length, AggregationSession.UPDATE_INFO,
              AggregationSession.aad(round, "site-" + s, params), out, 0);
        }
        long t2 = System.nanoTime();
        for (int s = b; s < end; s++) {
          session.offer("site-" + s, 10 + s, 1, AggregationSession.UPDATE_FORMAT, sealed[s], 0, sealed[s].length);
        }
        long t3 = System.nanoTime();
        rawNanos += t1 - t0;
        openNanos += t2 - t1;
        aggNanos += t3 - t2;
      }
      long t3 = System.nanoTime();
      float[] mean = session.meanUpdate(null);
      aggNanos += System.nanoTime() - t3;
      if (!session.rejected().isEmpty()) {
        throw new IllegalStateException("benchmark updates rejected: " + session.rejected());
      }
      if (!Float.isFinite(mean[0])) {
        throw new IllegalStateException("mean is not finite");
      }
      rawRates[r] = mib(cipherBytes) / (rawNanos / 1e9);
      openRates[r] = mib(cipherBytes) / (openNanos / 1e9);
      aggRates[r] = mib(cipherBytes) / (aggNanos / 1e9);
      ratios[r] = aggRates[r] / rawRates[r];
      Map<String, Object> rep = new LinkedHashMap<>();
      rep.put("raw_aes_gcm_decrypt_mib_s", round1(rawRates[r]));
      rep.put("hpke_open_mib_s", round1(openRates[r]));
      rep.put("aggregate_mib_s", round1(aggRates[r]));
      rep.put("ratio", round3(ratios[r]));
      reps.add(rep);
      progress.printf(Locale.ROOT, "rep %d: raw AES-256-GCM decrypt %.0f MiB/s, HPKE open %.0f MiB/s, "
          + "decrypt-validate-sum %.0f MiB/s, ratio %.3f%n", r + 1, rawRates[r], openRates[r], aggRates[r], ratios[r]);
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("benchmark", "aggregate");
    m.put("sites", sites);
    m.put("params", params);
    m.put("ciphertext_mib", round1(mib(cipherBytes)));
    m.put("kernel", kernel.name());
    m.put("threads", 1);
    m.put("available_processors", Runtime.getRuntime().availableProcessors());
    m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    m.put("raw_aes_gcm_decrypt_mib_s", round1(median(rawRates)));
    m.put("hpke_open_mib_s", round1(median(openRates)));
    m.put("aggregate_mib_s", round1(median(aggRates)));
    m.put("ratio", round3(median(ratios)));
    m.put("target_ratio", 0.7);
    m.put("repetitions", reps);
    m.put("note", "medians over repetitions, the paths interleaved in blocks of four updates; hpke_open = the HPKE open alone (X25519 + key schedule + AES-256-GCM), for the breakdown; raw = JDK AES-256-GCM decryption of the same number of ciphertexts of "
        + "the same size; aggregate = HPKE open (X25519, HKDF-SHA256, AES-256-GCM) + finite/norm validation + "
        + "weighted sum + mean, as in the enclave");
    return m;
  }

  /** JIT warm-up of both paths at growing sizes (large single AES-GCM calls stay slow until C2 compiled them). */
  private static void warmUp(int params, UpdateKernel kernel, SecureRandom random, PrintStream progress)
      throws GeneralSecurityException {
    Hpke hpke = new Hpke(random);
    HpkeKeyPair key = hpke.generateKeyPair();
    SecretKeySpec k = new SecretKeySpec(randomBytes(random, 32), "AES");
    for (int dim = 1 << 12; ; dim = Math.min(params, dim * 4)) {
      byte[] pt = new byte[dim * Float.BYTES];
      byte[] nonce = randomBytes(random, 12);
      byte[] ct = AesGcm.sealStream(k.getEncoded(), nonce, new byte[0], pt);
      AggregationPolicy p = new AggregationPolicy(AggregationPolicy.FORMAT, "w", "w", dim, 1e6, 1, 2, null,
          AggregationPolicy.FEDAVG);
      AggregationSession.RoundContext round = new AggregationSession.RoundContext("w", 1, "w", 1);
      byte[][] sealed = new byte[5][];
      for (int j = 0; j < 5; j++) {
        sealed[j] = hpke.sealStream(key.publicKey(), AggregationSession.UPDATE_INFO, AggregationSession.aad(round, "s" + j, dim),
            pt);
      }
      byte[] out = new byte[pt.length];
      int calls = (int) Math.max(8, Math.min(4000, (192L << 20) / pt.length));
      for (int i = 0; i < calls; i++) {
        AesGcm.openStream(k.getEncoded(), nonce, new byte[0], ct, 0, ct.length, out, 0);
        if (i % 5 == 4) {
          AggregationSession s = new AggregationSession(p, Set.of("s0", "s1", "s2", "s3", "s4"), key, hpke, kernel,
              round, guard());
          for (int j = 0; j < 5; j++) {
            s.offer("s" + j, 1, 1, AggregationSession.UPDATE_FORMAT, sealed[j], 0, sealed[j].length);
          }
          s.meanUpdate(null);
        }
      }
      if (dim == params) {
        return;
      }
    }
  }

  private static AggregationSession.ReplayGuard guard() {
    Set<String> seen = new java.util.HashSet<>();
    return new AggregationSession.ReplayGuard() {
      @Override
      public boolean record(String roundId, String siteId) {
        return seen.add(siteId);
      }

      @Override
      public boolean seen(String roundId, String siteId) {
        return seen.contains(siteId);
      }
    };
  }

  private static byte[] randomBytes(SecureRandom r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  private static double mib(long bytes) {
    return bytes / (double) (1 << 20);
  }

  private static double median(double[] v) {
    return Percentiles.median(v);
  }


  private static double round1(double v) {
    return Math.round(v * 10) / 10.0;
  }

  private static double round3(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
