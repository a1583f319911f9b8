package org.cloister.broker;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.MessageLite;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.cloister.protocol.EvidenceWire;
import org.cloister.protocol.v1.ChallengeRequest;
import org.cloister.protocol.v1.DecryptRequest;
import org.cloister.protocol.v1.GenerateDataKeyRequest;
import org.cloister.protocol.v1.KeyBrokerGrpc;
import org.cloister.protocol.v1.Recipient;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;
import org.cloister.trust.attestation.snp.SnpVerifier;
import org.cloister.trust.attestation.tdx.TdxVerifier;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeKeyPair;

/**
 * The key broker's request handlers take bytes from any caller on its port: whatever a request's
 * bytes, parsed as gRPC parses them and handed to the real {@link KeyBrokerService} (a real
 * keystore, key policy, audit log, nonce registry and the Nitro, SEV-SNP and TDX verifiers), the
 * broker answers or refuses with a status, never INTERNAL or UNKNOWN. Half the inputs are a genuine request (a fresh broker nonce and a development
 * Nitro document binding it and the enclave's key) with fuzzer edits.
 */
class KeyBrokerRequestFuzzTest {
  private static final String KEY = "cloister/model/fuzz";
  private static final Map<String, String> CONTEXT = Map.of("study_id", "s1", "purpose", "global-model");
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Clock CLOCK = Clock.systemUTC();
  private static final DevelopmentAttestationAuthority AUTHORITY = DevelopmentAttestationAuthority.generate(CLOCK, RANDOM);
  private static final HpkeKeyPair ENCLAVE = new Hpke().generateKeyPair();
  private static final Map<Integer, byte[]> PCRS = pcrs();
  private static final NonceRegistry NONCES = new NonceRegistry(CLOCK, RANDOM, Duration.ofSeconds(60));
  private static final KeyBrokerService SERVICE = service();
  private static final byte[] BLOB = blob();

  private static Map<Integer, byte[]> pcrs() {
    try {
      return SimulatedPcrs.of(Path.of("pom.xml"), "config".getBytes(), "policy".getBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static KeyBrokerService service() {
    try {
      Path dir = Files.createTempDirectory("broker-fuzz");
      dir.toFile().deleteOnExit();
      BrokerKeystore ks = BrokerKeystore.create(dir.resolve("keys.p12"), "fuzz password".toCharArray(), RANDOM);
      ks.createKey(KEY);
      KeyPolicies policies = KeyPolicies.create(dir.resolve("policies.json"));
      policies.put(KeyPolicy.of(KEY, PCRS));
      return new KeyBrokerService(ks, policies, new NitroAttestationVerifier(AUTHORITY.rootCertificate()),
          List.of(new SnpVerifier(), new TdxVerifier()), Collateral.empty(), NONCES, new DataKeyWrapper(RANDOM),
          new AuditLog(dir.resolve("audit.jsonl"), CLOCK), CLOCK);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Recipient recipient() {
    byte[] nonce = NONCES.issue().nonce();
    byte[] doc = AUTHORITY.issue("fuzz-enclave", PCRS, nonce, null, ENCLAVE.publicKey());
    return Recipient.newBuilder().setEvidence(EvidenceWire.nitro(doc)).setNonce(ByteString.copyFrom(nonce)).build();
  }

  private static byte[] blob() {
    Answer a = new Answer();
    SERVICE.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(KEY).putAllEncryptionContext(CONTEXT)
        .setRecipient(recipient()).build(), a.as());
    if (a.value == null) {
      throw new IllegalStateException("the broker refused the fuzzer's genuine seed request: " + a.error);
    }
    return ((org.cloister.protocol.v1.GenerateDataKeyResponse) a.value).getCiphertextBlob().toByteArray();
  }

  /** A method, a genuine request made afresh for each input (its nonce is single-use), and the handler. */
  private record Rpc<Q>(MethodDescriptor<Q, ?> method, java.util.function.Supplier<MessageLite> valid,
                        BiConsumer<Q, Answer> handler) {
  }

  private static final List<Rpc<?>> RPCS = List.of(
      new Rpc<>(KeyBrokerGrpc.getGetChallengeMethod(), ChallengeRequest::getDefaultInstance,
          (q, a) -> SERVICE.getChallenge(q, a.as())),
      new Rpc<>(KeyBrokerGrpc.getGenerateDataKeyMethod(), () -> GenerateDataKeyRequest.newBuilder().setKeyId(KEY)
          .putAllEncryptionContext(CONTEXT).setRecipient(recipient()).build(), (q, a) -> SERVICE.generateDataKey(q, a.as())),
      new Rpc<>(KeyBrokerGrpc.getDecryptMethod(), () -> DecryptRequest.newBuilder().setKeyId(KEY).putAllEncryptionContext(CONTEXT)
          .setCiphertextBlob(ByteString.copyFrom(BLOB)).setRecipient(recipient()).build(), (q, a) -> SERVICE.decrypt(q, a.as())));

  /** Raw fuzzer bytes, or the valid request with up to 8 edits (overwrites, truncation, inserted runs). */
  static byte[] mutate(FuzzedDataProvider d, byte[] valid) {
    if (!d.consumeBoolean()) {
      return d.consumeBytes(d.consumeInt(0, 4096));
    }
    byte[] out = valid.clone();
    for (int i = d.consumeInt(1, 8); i > 0 && d.remainingBytes() > 0; i--) {
      switch (d.consumeInt(0, 2)) {
        case 0 -> {
          if (out.length > 0) {
            out[d.consumeInt(0, out.length - 1)] = d.consumeByte();
          }
        }
        case 1 -> out = Arrays.copyOf(out, d.consumeInt(0, out.length));
        default -> {
          int at = d.consumeInt(0, out.length);
          byte[] run = d.consumeBytes(d.consumeInt(0, 64));
          byte[] next = new byte[out.length + run.length];
          System.arraycopy(out, 0, next, 0, at);
          System.arraycopy(run, 0, next, at, run.length);
          System.arraycopy(out, at, next, at + run.length, out.length - at);
          out = next;
        }
      }
    }
    return out;
  }

  private static final class Answer implements StreamObserver<Object> {
    Object value;
    Throwable error;
    boolean completed;

    @SuppressWarnings("unchecked")
    <T> StreamObserver<T> as() {
      return (StreamObserver<T>) (StreamObserver<?>) this;
    }

    @Override
    public void onNext(Object v) {
      value = v;
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onCompleted() {
      completed = true;
    }
  }

  private static <Q> void fuzz(Rpc<Q> rpc, FuzzedDataProvider d) {
    byte[] valid = rpc.valid().get().toByteArray();
    byte[] bytes = mutate(d, valid);
    Q request;
    try {
      request = rpc.method().parseRequest(new ByteArrayInputStream(bytes));
    } catch (StatusRuntimeException malformed) {
      return; // gRPC refuses it before the handler
    }
    Answer a = new Answer();
    rpc.handler().accept(request, a);
    if (a.error != null) {
      Status s = Status.fromThrowable(a.error);
      if (s.getCode() == Status.Code.INTERNAL || s.getCode() == Status.Code.UNKNOWN) {
        throw new AssertionError(rpc.method().getBareMethodName() + " answered " + s, a.error);
      }
    } else if (!a.completed || a.value == null) {
      throw new AssertionError(rpc.method().getBareMethodName() + " neither answered nor refused");
    }
  }

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void request(FuzzedDataProvider d) {
    fuzz(RPCS.get(d.consumeInt(0, RPCS.size() - 1)), d);
  }
}
