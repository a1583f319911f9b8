package org.cloister.trust.hpke;

import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Not a test: HPKE seal/open of 4 MiB payloads against raw AES-256-GCM (JCA, SunJCE) in the same run.
 * Run: {@code java -cp trust/target/classes:trust/target/test-classes:BCPROV_JAR org.cloister.trust.hpke.HpkeThroughputBench}
 */
public final class HpkeThroughputBench {
  private HpkeThroughputBench() {}

  public static void main(String[] args) throws Exception {
    int size = 4 << 20;
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    byte[] payload = new byte[size];
    new SecureRandom().nextBytes(payload);
    BouncyCastleHpke hpke = new BouncyCastleHpke();
    HpkeKeyPair recipient = hpke.generateKeyPair();
    byte[] info = "round-1".getBytes();
    byte[] aad = "site-1".getBytes();

    SecretKeySpec key = new SecretKeySpec(new byte[32], "AES");
    byte[] iv = new byte[12];
    for (int warm = 0; warm < 5; warm++) {
      hpke.open(recipient, hpke.seal(recipient.publicKey(), info, aad, payload), info, aad);
      gcm(Cipher.DECRYPT_MODE, key, iv, aad, gcm(Cipher.ENCRYPT_MODE, key, iv, aad, payload));
    }
    long t0 = System.nanoTime();
    HpkeCiphertext ct = null;
    for (int i = 0; i < iterations; i++) {
      ct = hpke.seal(recipient.publicKey(), info, aad, payload);
    }
    long t1 = System.nanoTime();
    for (int i = 0; i < iterations; i++) {
      hpke.open(recipient, ct, info, aad);
    }
    long t2 = System.nanoTime();
    byte[] raw = null;
    for (int i = 0; i < iterations; i++) {
      iv[0] = (byte) i; // fresh nonce per message
      raw = gcm(Cipher.ENCRYPT_MODE, key, iv, aad, payload);
    }
    long t3 = System.nanoTime();
    for (int i = 0; i < iterations; i++) {
      gcm(Cipher.DECRYPT_MODE, key, iv, aad, raw);
    }
    long t4 = System.nanoTime();
    double mib = (double) size * iterations / (1 << 20);
    System.out.printf("payload 4 MiB x %d%n", iterations);
    System.out.printf("HPKE seal (BC):         %8.1f MiB/s%n", mib / ((t1 - t0) / 1e9));
    System.out.printf("HPKE open (BC):         %8.1f MiB/s%n", mib / ((t2 - t1) / 1e9));
    System.out.printf("AES-256-GCM enc (JCA):  %8.1f MiB/s%n", mib / ((t3 - t2) / 1e9));
    System.out.printf("AES-256-GCM dec (JCA):  %8.1f MiB/s%n", mib / ((t4 - t3) / 1e9));
    System.out.printf("ratio seal/raw-enc time: %.2f, open/raw-dec time: %.2f%n",
        (double) (t1 - t0) / (t3 - t2), (double) (t2 - t1) / (t4 - t3));
  }

  private static byte[] gcm(int mode, SecretKeySpec key, byte[] iv, byte[] aad, byte[] in) throws Exception {
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(mode, key, new GCMParameterSpec(128, iv));
    c.updateAAD(aad);
    return c.doFinal(in);
  }
}
