package org.cloister.broker;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.MessageLite;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.cloister.protocol.EvidenceWire;
import org.cloister.protocol.fuzz.RequestFuzz;
import org.cloister.protocol.fuzz.RequestFuzz.Answer;
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
    Answer<Object> a = new Answer<>();
    SERVICE.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(KEY).putAllEncryptionContext(CONTEXT)
        .setRecipient(recipient()).build(), a.as());
    if (a.value() == null) {
      throw new IllegalStateException("the broker refused the fuzzer's genuine seed request: " + a.error());
    }
    return ((org.cloister.protocol.v1.GenerateDataKeyResponse) a.value()).getCiphertextBlob().toByteArray();
  }

  /** A method, a genuine request made afresh for each input (its nonce is single-use), and the handler. */
  private record Rpc<Q>(MethodDescriptor<Q, ?> method, java.util.function.Supplier<MessageLite> valid,
                        BiConsumer<Q, Answer<Object>> handler) {
  }

  private static final List<Rpc<?>> RPCS = List.of(
      new Rpc<>(KeyBrokerGrpc.getGetChallengeMethod(), ChallengeRequest::getDefaultInstance,
          (q, a) -> SERVICE.getChallenge(q, a.as())),
      new Rpc<>(KeyBrokerGrpc.getGenerateDataKeyMethod(), () -> GenerateDataKeyRequest.newBuilder().setKeyId(KEY)
          .putAllEncryptionContext(CONTEXT).setRecipient(recipient()).build(), (q, a) -> SERVICE.generateDataKey(q, a.as())),
      new Rpc<>(KeyBrokerGrpc.getDecryptMethod(), () -> DecryptRequest.newBuilder().setKeyId(KEY).putAllEncryptionContext(CONTEXT)
          .setCiphertextBlob(ByteString.copyFrom(BLOB)).setRecipient(recipient()).build(), (q, a) -> SERVICE.decrypt(q, a.as())));


  private static <Q> void fuzz(Rpc<Q> rpc, FuzzedDataProvider d) {
    Q request = RequestFuzz.parse(rpc.method(), RequestFuzz.mutate(d, rpc.valid().get().toByteArray()));
    if (request == null) {
      return; // gRPC refuses it before the handler
    }
    Answer<Object> a = new Answer<>();
    rpc.handler().accept(request, a);
    a.check(rpc.method().getBareMethodName());
  }

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void request(FuzzedDataProvider d) {
    fuzz(RPCS.get(d.consumeInt(0, RPCS.size() - 1)), d);
  }
}
