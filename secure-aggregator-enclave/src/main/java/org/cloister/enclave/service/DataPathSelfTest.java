package org.cloister.enclave.service;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.cloister.dp.noise.GaussianNoise;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.aggregation.AggregationSession;
import org.cloister.enclave.aggregation.UpdateKernel;
import org.cloister.enclave.runtime.EnclaveSigner;
import org.cloister.enclave.runtime.ModelArtifactCipher;
import org.cloister.protocol.v1.EncryptedModel;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.trust.aead.AesGcm;
import org.cloister.trust.attestation.EnclaveSignatures;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeException;
import org.cloister.trust.hpke.HpkeKeyPair;

/**
 * The enclave's start-up self-test of its data path, run once before it serves ({@code EnclaveMain}):
 * a few synthetic rounds of four synthetic updates each, of the study's dimension, sealed with HPKE
 * to a <em>throwaway</em> key, then opened, validated and summed by a real {@link AggregationSession}
 * with the enclave's own policy and summation kernel; the released mean is checked against the
 * value the inputs fix, published with {@link ModelArtifactCipher} under throwaway keys and opened
 * again, and a digest signed and verified with a throwaway P-256 key.
 *
 * <p>Fail closed: an enclave whose kernel, AES-GCM, HPKE or codec gives a wrong answer on this platform
 * (a broken intrinsic, a Vector API lane bug) stops before it asks for the model key and before any
 * site's update reaches it, instead of publishing a wrong mean and signing a receipt for it. (It does
 * not take the JVM's compilation out of the study's first rounds: measured, docs/benchmarks.md.)
 *
 * <p>Nothing here touches the enclave's state: its keys, replay memory, round challenges, model
 * vault and workspace are not used, the synthetic members are not in the configuration, and
 * nothing the self-test makes leaves it. Its inputs are fixed (the policy's dimension and norm
 * bound, constants), not anything the host sends: it runs before the server starts.
 */
public final class DataPathSelfTest {
  /** Updates per synthetic round: one full batch of the session's four-at-a-time pass. */
  static final int UPDATES_PER_ROUND = 4;
  /**
   * Synthetic rounds: the second runs on the workspace the first handed back, so a session that left
   * anything behind for the next one shows too.
   */
  static final int ROUNDS = 2;

  /** What the self-test did. */
  public record Result(int rounds, int updates, long nanos) {
  }

  /** The data path gave a wrong answer: the enclave must not serve. */
  public static final class Failure extends Exception {
    Failure(String message) {
      super(message);
    }

    Failure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final AggregationPolicy policy;
  private final UpdateKernel kernel;
  private final SecureRandom random;

  public DataPathSelfTest(AggregationPolicy policy, UpdateKernel kernel, SecureRandom random) {
    this.policy = policy;
    this.kernel = kernel;
    this.random = random;
  }

  /**
   * Runs the self-test.
   *
   * @throws Failure naming the step and, for a wrong value, its index (synthetic values only)
   */
  public Result run() throws Failure {
    long start = System.nanoTime();
    int dimension = policy.dimension();
    Hpke hpke = new Hpke(random);
    HpkeKeyPair throwaway = hpke.generateKeyPair();
    EnclaveSigner signer = EnclaveSigner.generate(random);
    AggregationSession.Workspace workspace = new AggregationSession.Workspace(dimension);
    // member j sends the constant update j * c; the largest has half the policy's norm bound. A robust
    // strategy keeps its updates in memory: at most what fits (the policy guarantees its own quorum does)
    int k = policy.combiner().isPresent()
        ? (int) Math.min(UPDATES_PER_ROUND, AggregationPolicy.robustCapacity(dimension)) : UPDATES_PER_ROUND;
    Set<String> members = new LinkedHashSet<>();
    for (int j = 1; j <= k; j++) {
      members.add("self-test-" + j);
    }
    double c = policy.maxUpdateL2Norm() / (2.0 * UPDATES_PER_ROUND * Math.sqrt(dimension));
    boolean exactMean = policy.centralDp() == null;
    double expected = 0;
    for (int j = 1; j <= k; j++) {
      expected += (float) (j * c);
    }
    // the values are an arithmetic progression: mean, median and any symmetric trimmed mean agree
    expected /= k;
    float[] values = new float[dimension];
    GaussianNoise noise = exactMean ? null : org.cloister.dp.noise.SecureGaussianNoise.fromOsEntropy();
    for (int r = 1; r <= ROUNDS; r++) {
      AggregationSession.RoundContext ctx = new AggregationSession.RoundContext(policy.studyId() + "/self-test", r,
          "self-test-" + r, r);
      AggregationSession session = new AggregationSession(policy, members, throwaway, hpke, kernel, ctx,
          AggregationSession.ReplayGuard.over(new HashSet<>()), workspace);
      float[] mean;
      try {
        int j = 0;
        for (String member : members) {
          Arrays.fill(values, (float) (++j * c));
          byte[] aad = AggregationSession.aad(ctx, member, dimension);
          byte[] sealed;
          try {
            sealed = hpke.sealStream(throwaway.publicKey(), AggregationSession.UPDATE_INFO, aad,
                org.cloister.protocol.FloatCodec.encode(values));
          } catch (HpkeException e) {
            throw new Failure("HPKE seal of a synthetic update failed: " + e.getMessage(), e);
          }
          session.offer(member, 1, r, AggregationSession.UPDATE_FORMAT, sealed, 0, sealed.length);
        }
        Map<String, String> rejected = session.rejected();
        if (!rejected.isEmpty() || session.accepted().size() != k) {
          throw new Failure("synthetic updates were refused: " + rejected.values());
        }
        mean = session.meanUpdate(noise);
      } finally {
        session.close();
      }
      if (exactMean) {
        checkMean(mean, expected);
      } else if (mean.length != dimension) {
        throw new Failure("the released update has " + mean.length + " values, not " + dimension);
      }
      publishAndOpen(mean, r, signer);
    }
    return new Result(ROUNDS, ROUNDS * k, System.nanoTime() - start);
  }

  private static void checkMean(float[] mean, double expected) throws Failure {
    double tolerance = Math.abs(expected) * 1e-5;
    for (int i = 0; i < mean.length; i++) {
      if (!(Math.abs(mean[i] - expected) <= tolerance)) {
        throw new Failure(String.format(Locale.ROOT,
            "the mean of the synthetic updates is wrong at index %d (%s, expected %s)", i, mean[i], expected));
      }
    }
  }

  /** The publication path: encrypt (digesting the encoding), decrypt, compare; sign the digest. */
  private void publishAndOpen(float[] weights, long version, EnclaveSigner signer) throws Failure {
    byte[] dataKey = AesGcm.random(random, AesGcm.KEY_BYTES);
    byte[] contentKey = AesGcm.random(random, AesGcm.KEY_BYTES);
    String keyId = "self-test";
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      ModelArtifact artifact = ModelArtifactCipher.encrypt(weights, digest, policy.studyId(), version,
          policy.modelName(), keyId, dataKey, new byte[16], contentKey, random);
      byte[] sha256 = digest.digest();
      EncryptedModel envelope = ModelArtifactCipher.envelope(artifact, policy.studyId(), keyId);
      float[] back = ModelArtifactCipher.decrypt(artifact, envelope, dataKey, policy.studyId(), policy.modelName(),
          weights.length);
      if (!Arrays.equals(back, weights)) {
        throw new Failure("a synthetic model does not decrypt to what was encrypted");
      }
      if (!MessageDigest.isEqual(sha256, org.cloister.protocol.FloatCodec.sha256(
          org.cloister.protocol.FloatCodec.encode(weights)))) {
        throw new Failure("the digest taken while encrypting a synthetic model is not the SHA-256 of its encoding");
      }
      byte[] signature = signer.sign("self-test", sha256);
      if (!EnclaveSignatures.verify(signer.publicKey(), "self-test", sha256, signature)) {
        throw new Failure("a P-256 signature by a throwaway key does not verify");
      }
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new Failure("publishing a synthetic model failed: " + e.getMessage(), e);
    } finally {
      Arrays.fill(dataKey, (byte) 0);
      Arrays.fill(contentKey, (byte) 0);
    }
  }
}
