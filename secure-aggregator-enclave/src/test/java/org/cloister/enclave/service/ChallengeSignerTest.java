package org.cloister.enclave.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.cloister.enclave.aggregation.ContributionVerifier;
import org.cloister.protocol.v1.RoundChallenge;
import org.cloister.protocol.v1.RoundChallengeBody;
import org.cloister.trust.attestation.EnclaveSignatures;
import org.junit.jupiter.api.Test;

class ChallengeSignerTest {
  private static final String PURPOSE = SecureAggregatorService.ROUND_CHALLENGE_PURPOSE;

  /** What one verifier received. */
  private static final class Answer implements StreamObserver<RoundChallenge> {
    final List<RoundChallenge> values = new ArrayList<>();
    Throwable error;
    boolean completed;

    @Override
    public synchronized void onNext(RoundChallenge v) {
      values.add(v);
    }

    @Override
    public synchronized void onError(Throwable t) {
      error = t;
    }

    @Override
    public synchronized void onCompleted() {
      completed = true;
    }
  }

  private static ByteString nonce(int b) {
    byte[] n = new byte[32];
    java.util.Arrays.fill(n, (byte) b);
    return ByteString.copyFrom(n);
  }

  /**
   * Requests that arrive while a signature is being made are answered together by the next one: one
   * signature per open round, over a body listing exactly those requests' nonces; every answer
   * verifies under the enclave's key and names its own verifier's nonce, the round and its challenge.
   */
  @Test
  void requestsWaitingDuringASignatureShareTheNextOnePerRound() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
    KeyPair key = g.generateKeyPair();
    CountDownLatch firstSigning = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger signatures = new AtomicInteger();
    ChallengeSigner signer = new ChallengeSigner(body -> {
      if (signatures.incrementAndGet() == 1) {
        firstSigning.countDown();
        try {
          release.await(30, TimeUnit.SECONDS); // the first signature is slow: others arrive meanwhile
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return EnclaveSignatures.sign(key.getPrivate(), PURPOSE, body);
    });
    ContributionVerifier.OpenRound r7 = new ContributionVerifier.OpenRound("s", 7, "r-7", 6, new byte[32], new byte[32]);
    byte[] other = new byte[32];
    other[0] = 1;
    ContributionVerifier.OpenRound r8 = new ContributionVerifier.OpenRound("s", 8, "r-8", 7, other, new byte[32]);
    Answer a1 = new Answer();
    Thread first = new Thread(() -> signer.answer(new ChallengeSigner.Request(r7, nonce(1), a1)));
    first.start();
    assertThat(firstSigning.await(30, TimeUnit.SECONDS)).isTrue();
    Answer a2 = new Answer();
    Answer a3 = new Answer();
    Answer a4 = new Answer();
    // these return at once: the first thread is signing and takes them with its next signatures
    signer.answer(new ChallengeSigner.Request(r7, nonce(2), a2));
    signer.answer(new ChallengeSigner.Request(r7, nonce(3), a3));
    signer.answer(new ChallengeSigner.Request(r8, nonce(4), a4));
    assertThat(a2.values).isEmpty();
    release.countDown();
    first.join(30_000);

    assertThat(signatures.get()).as("one for the first request, then one per waiting round").isEqualTo(3);
    Answer[] answers = {a1, a2, a3, a4};
    for (int i = 0; i < answers.length; i++) {
      Answer a = answers[i];
      assertThat(a.error).isNull();
      assertThat(a.completed).isTrue();
      assertThat(a.values).hasSize(1);
      RoundChallenge rc = a.values.get(0);
      assertThat(EnclaveSignatures.verify(key.getPublic(), PURPOSE, rc.getBody().toByteArray(),
          rc.getSignature().toByteArray())).isTrue();
      RoundChallengeBody b = RoundChallengeBody.parseFrom(rc.getBody());
      assertThat(b.getNoncesList()).contains(nonce(i + 1));
      ContributionVerifier.OpenRound expected = i == 3 ? r8 : r7;
      assertThat(b.getRound()).isEqualTo(expected.round());
      assertThat(b.getRoundId()).isEqualTo(expected.roundId());
      assertThat(b.getBaseModelVersion()).isEqualTo(expected.baseModelVersion());
      assertThat(b.getChallenge().toByteArray()).isEqualTo(expected.challenge());
    }
    assertThat(RoundChallengeBody.parseFrom(a1.values.get(0).getBody()).getNoncesList()).containsExactly(nonce(1));
    assertThat(RoundChallengeBody.parseFrom(a2.values.get(0).getBody()).getNoncesList())
        .containsExactly(nonce(2), nonce(3));
    assertThat(a3.values.get(0)).isEqualTo(a2.values.get(0));
    assertThat(RoundChallengeBody.parseFrom(a4.values.get(0).getBody()).getNoncesList()).containsExactly(nonce(4));
  }

  @Test
  void aSignatureThatFailsAnswersItsRequestsWithAnErrorAndTheNextOneSignsAgain() {
    AtomicInteger calls = new AtomicInteger();
    ChallengeSigner signer = new ChallengeSigner(body -> {
      if (calls.incrementAndGet() == 1) {
        throw new IllegalStateException("signing key unavailable");
      }
      return new byte[] {1};
    });
    ContributionVerifier.OpenRound r = new ContributionVerifier.OpenRound("s", 1, "r-1", 1, new byte[32]);
    Answer failed = new Answer();
    signer.answer(new ChallengeSigner.Request(r, nonce(1), failed));
    assertThat(failed.error).hasMessageContaining("round challenge not signed");
    assertThat(failed.values).isEmpty();
    Answer next = new Answer();
    signer.answer(new ChallengeSigner.Request(r, nonce(2), next));
    assertThat(next.error).isNull();
    assertThat(next.values).hasSize(1);
  }
}
