package org.cloister.trust.hpke;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * One {@link Hpke} instance shared by several threads (the inference enclave serves queries on gRPC's
 * executor; the aggregator opens several updates at once): every seal and open, single-shot, with an
 * exported secret and streaming, gives the right result. The previous {@code FastHpke} reused one
 * {@code Cipher} and {@code Mac} per instance, so its callers needed a {@code ThreadLocal}.
 */
class HpkeConcurrencyTest {
  private static final byte[] INFO = "cloister/v1 update".getBytes(StandardCharsets.US_ASCII);

  @Test
  void oneInstanceSharedByEightThreadsSealsAndOpensCorrectly() throws Exception {
    Hpke hpke = new Hpke(new SecureRandom(new byte[] {5}));
    HpkeKeyPair recipient = hpke.deriveKeyPair(new byte[32]);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Integer>> results = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        results.add(pool.submit(() -> {
          int ok = 0;
          for (int i = 0; i < 60; i++) {
            byte[] aad = (thread + "/" + i).getBytes(StandardCharsets.US_ASCII);
            byte[] plain = new byte[100 + (i * 37 + thread * 911) % 9000];
            Arrays.fill(plain, (byte) (thread * 31 + i));
            byte[] ctx = {(byte) thread};
            Hpke.SealedWithSecret s = hpke.sealAndExport(recipient.publicKey(), INFO, aad, plain, ctx, 32);
            Hpke.OpenedWithSecret o = hpke.openAndExport(recipient, s.message(), INFO, aad, ctx, 32);
            byte[] stream = hpke.sealStream(recipient.publicKey(), INFO, aad, plain);
            if (Arrays.equals(o.plaintext(), plain) && Arrays.equals(o.exportedSecret(), s.exportedSecret())
                && Arrays.equals(hpke.openStream(recipient, stream, INFO, aad), plain)
                && Arrays.equals(hpke.open(recipient, hpke.seal(recipient.publicKey(), INFO, aad, plain), INFO, aad),
                    plain)) {
              ok++;
            }
          }
          return ok;
        }));
      }
      for (Future<Integer> f : results) {
        assertThat(f.get()).as("round trips that succeeded in one thread").isEqualTo(60);
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
