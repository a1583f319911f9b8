package org.cloister.enclave.service;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.cloister.enclave.aggregation.ContributionVerifier;
import org.cloister.protocol.v1.RoundChallenge;
import org.cloister.protocol.v1.RoundChallengeBody;

/**
 * Answers round challenge requests with group signatures: requests that arrive while a signature is
 * being made wait, and the next signature answers all of them that ask for the same open round, over
 * one body listing every waiting verifier's nonce ({@code RoundChallengeBody.nonces}). Each verifier
 * finds its own fresh nonce under the attested key's signature, exactly as with one signature per
 * request; the other nonces in the list are other verifiers' public random values. When the sites of a
 * round ask at once (they do: they all receive the round's task together), the enclave makes two or
 * three signatures per round instead of one per site. No request waits for a later one: the first is
 * signed at once, and whoever signs keeps serving until nobody waits.
 */
final class ChallengeSigner {
  /** At most this many nonces in one signed body (bounds the body a verifier parses). */
  static final int MAX_NONCES_PER_SIGNATURE = 64;

  private final Function<byte[], byte[]> sign;
  private final ArrayDeque<Request> waiting = new ArrayDeque<>();
  private boolean signing;

  /** @param sign signs a serialized {@link RoundChallengeBody} with the enclave's attested key */
  ChallengeSigner(Function<byte[], byte[]> sign) {
    this.sign = sign;
  }

  /** One verifier's request for {@code round}'s challenge, over {@code nonce}. */
  record Request(ContributionVerifier.OpenRound round, ByteString nonce, StreamObserver<RoundChallenge> out) {
  }

  /** Queues {@code r}; answers it (and whatever else waits) now, unless another thread is signing. */
  void answer(Request r) {
    synchronized (waiting) {
      waiting.add(r);
      if (signing) {
        return; // the signing thread takes it with its next signature
      }
      signing = true;
    }
    try {
      while (true) {
        List<Request> batch = new ArrayList<>();
        synchronized (waiting) {
          while (!waiting.isEmpty() && batch.size() < MAX_NONCES_PER_SIGNATURE) {
            batch.add(waiting.poll());
          }
          if (batch.isEmpty()) {
            signing = false;
            return;
          }
        }
        // one signature per open round (the same instance: a round whose base digest was pinned meanwhile
        // is another instance, signed separately)
        Map<ContributionVerifier.OpenRound, List<Request>> byRound = new IdentityHashMap<>();
        for (Request q : batch) {
          byRound.computeIfAbsent(q.round(), k -> new ArrayList<>()).add(q);
        }
        byRound.forEach(this::signFor);
      }
    } catch (RuntimeException | Error e) {
      synchronized (waiting) {
        signing = false;
        for (Request q; (q = waiting.poll()) != null; ) {
          q.out().onError(Status.INTERNAL.withDescription("round challenge not signed").asRuntimeException());
        }
      }
      throw e;
    }
  }

  private void signFor(ContributionVerifier.OpenRound open, List<Request> requests) {
    RoundChallengeBody.Builder b = RoundChallengeBody.newBuilder().setStudyId(open.studyId()).setRound(open.round())
        .setRoundId(open.roundId()).setBaseModelVersion(open.baseModelVersion())
        .setChallenge(ByteString.copyFrom(open.challenge()))
        .setBaseModelSha256(ByteString.copyFrom(open.baseModelSha256()));
    for (Request q : requests) {
      b.addNonces(q.nonce());
    }
    byte[] body = b.build().toByteArray();
    RoundChallenge answer;
    try {
      answer = RoundChallenge.newBuilder().setBody(ByteString.copyFrom(body))
          .setSignature(ByteString.copyFrom(sign.apply(body))).build();
    } catch (RuntimeException e) {
      for (Request q : requests) {
        q.out().onError(Status.INTERNAL.withDescription("round challenge not signed").asRuntimeException());
      }
      return;
    }
    for (Request q : requests) {
      try {
        q.out().onNext(answer);
        q.out().onCompleted();
      } catch (RuntimeException e) {
        // that verifier's call ended meanwhile (cancelled): the others still get their answer
      }
    }
  }
}
