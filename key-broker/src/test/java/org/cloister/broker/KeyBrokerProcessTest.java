package org.cloister.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.cloister.protocol.v1.DecryptRequest;
import org.cloister.protocol.v1.DecryptResponse;
import org.cloister.protocol.v1.GenerateDataKeyRequest;
import org.cloister.protocol.v1.GenerateDataKeyResponse;
import org.cloister.protocol.v1.KeyBrokerAdminGrpc;
import org.cloister.protocol.v1.KeyBrokerGrpc;
import org.cloister.protocol.v1.KeyRequest;
import org.cloister.protocol.v1.Recipient;
import org.cloister.protocol.v1.RecipientAad;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.cloister.trust.pki.Pem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The key broker as its own OS process, over TLS, with documents from the development attestation authority. */
class KeyBrokerProcessTest {
  static final String KEY = "cloister/model/test";
  static final Map<String, String> CONTEXT = Map.of("study_id", "s1", "purpose", "global-model");

  @TempDir
  static Path dir;
  static Process broker;
  static ManagedChannel channel;
  static KeyBrokerGrpc.KeyBrokerBlockingStub stub;
  static DevelopmentAttestationAuthority authority;
  static Map<Integer, byte[]> goodPcrs;
  /** Another enclave (the inference tier) granted Decrypt only, under its own PCRs. */
  static Map<Integer, byte[]> inferencePcrs;
  static final Hpke HPKE = new Hpke();
  static final List<String> brokerOutput = new ArrayList<>();

  @BeforeAll
  static void startBroker() throws Exception {
    SecureRandom random = new SecureRandom();
    Clock clock = Clock.systemUTC();
    authority = DevelopmentAttestationAuthority.generate(clock, random);
    Pem.writeCertificates(dir.resolve("dev-root.pem"), List.of(authority.rootCertificate()));
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    CertificateAuthority ca = CertificateAuthority.createRoot("test consortium CA", EcCurve.P256, now.minusSeconds(60),
        now.plus(1, ChronoUnit.DAYS), random);
    IssuedCertificate tls = ca.issueServer("cloister-key-broker", List.of("cloister-key-broker"), List.of("127.0.0.1"),
        now.minusSeconds(60), now.plus(1, ChronoUnit.DAYS));
    Pem.writeCertificates(dir.resolve("tls.pem"), tls.chain());
    Pem.writePrivateKey(dir.resolve("tls.key"), tls.privateKey());

    char[] password = "correct horse battery staple".toCharArray();
    Files.writeString(dir.resolve("pw"), new String(password));
    Files.writeString(dir.resolve("token"), "admin-secret");
    BrokerKeystore ks = BrokerKeystore.create(dir.resolve("keys.p12"), password, random);
    ks.createKey(KEY);
    goodPcrs = SimulatedPcrs.of(dir.resolve("pw"), "config".getBytes(), "policy".getBytes());
    KeyPolicies policies = KeyPolicies.create(dir.resolve("policies.json"));
    inferencePcrs = SimulatedPcrs.of(dir.resolve("token"), "inference-config".getBytes(), "inference-policy".getBytes());
    policies.put(KeyPolicy.of(KEY, goodPcrs).withGrant(KeyPolicy.Grant.of("inference", List.of("Decrypt"), inferencePcrs)));

    broker = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), KeyBrokerMain.class.getName(),
        "--keystore", dir.resolve("keys.p12").toString(), "--keystore-password-file", dir.resolve("pw").toString(),
        "--policies", dir.resolve("policies.json").toString(), "--tls-cert", dir.resolve("tls.pem").toString(),
        "--tls-key", dir.resolve("tls.key").toString(), "--audit-log", dir.resolve("audit.jsonl").toString(),
        "--admin-token-file", dir.resolve("token").toString(), "--attestation-root", dir.resolve("dev-root.pem").toString(),
        "--exit-with-parent")
        .redirectErrorStream(true).start();
    BufferedReader r = new BufferedReader(new InputStreamReader(broker.getInputStream(), StandardCharsets.UTF_8));
    int port = -1;
    for (String line; (line = r.readLine()) != null; ) {
      brokerOutput.add(line);
      if (line.startsWith(KeyBrokerMain.READY)) {
        port = Integer.parseInt(line.substring(line.indexOf("port=") + 5).trim());
        break;
      }
      if (line.startsWith(KeyBrokerMain.FAILED)) {
        throw new IllegalStateException(line);
      }
    }
    assertThat(port).as("broker output: %s", brokerOutput).isPositive();
    Thread drain = new Thread(() -> r.lines().forEach(l -> { }));
    drain.setDaemon(true);
    drain.start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port)
        .sslContext(GrpcSslContexts.forClient().trustManager(ca.certificate()).build())
        .overrideAuthority("cloister-key-broker").build();
    stub = KeyBrokerGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (broker != null) {
      broker.destroy();
      broker.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** What an enclave does: a fresh challenge, a document binding it and the enclave's key. */
  static Recipient recipient(HpkeKeyPair enclave, Map<Integer, byte[]> pcrs) {
    ByteString nonce = stub.getChallenge(org.cloister.protocol.v1.ChallengeRequest.getDefaultInstance()).getNonce();
    byte[] doc = authority.issue("test-enclave", pcrs, nonce.toByteArray(), null, enclave.publicKey());
    return Recipient.newBuilder().setEvidence(org.cloister.protocol.EvidenceWire.nitro(doc)).setNonce(nonce).build();
  }

  static byte[] open(HpkeKeyPair enclave, String op, Recipient r, ByteString sealed) throws Exception {
    byte[] aad = RecipientAad.newBuilder().setOperation(op).setKeyId(KEY).setNonce(r.getNonce()).build().toByteArray();
    return HPKE.open(enclave, sealed.toByteArray(), KeyBrokerService.RECIPIENT_INFO, aad);
  }

  @Test
  void releasesADataKeySealedToTheAttestedKeyAndUnwrapsItAgain() throws Exception {
    HpkeKeyPair enclave = HPKE.generateKeyPair();
    Recipient r = recipient(enclave, goodPcrs);
    GenerateDataKeyResponse g = stub.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(KEY)
        .putAllEncryptionContext(CONTEXT).setRecipient(r).build());
    byte[] dataKey = open(enclave, "GenerateDataKey", r, g.getCiphertextForRecipient());
    assertThat(dataKey).hasSize(32);
    assertThat(g.getCiphertextBlob().size()).isEqualTo(DataKeyWrapper.BLOB_BYTES);

    // a later enclave (new key pair, new nonce) gets the same data key back from the blob
    HpkeKeyPair restarted = HPKE.generateKeyPair();
    Recipient r2 = recipient(restarted, goodPcrs);
    DecryptResponse d = stub.decrypt(DecryptRequest.newBuilder().setKeyId(KEY).setCiphertextBlob(g.getCiphertextBlob())
        .putAllEncryptionContext(CONTEXT).setRecipient(r2).build());
    assertThat(open(restarted, "Decrypt", r2, d.getCiphertextForRecipient())).isEqualTo(dataKey);
    // someone relaying the answer without the enclave's private key cannot open it
    assertThatThrownBy(() -> open(HPKE.generateKeyPair(), "Decrypt", r2, d.getCiphertextForRecipient()))
        .hasMessageContaining("HPKE open failed");

    // another encryption context does not unwrap
    assertThatThrownBy(() -> stub.decrypt(DecryptRequest.newBuilder().setKeyId(KEY).setCiphertextBlob(g.getCiphertextBlob())
        .putAllEncryptionContext(Map.of("study_id", "other")).setRecipient(recipient(restarted, goodPcrs)).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
  }

  @Test
  void aModifiedEnclaveArtifactHasOtherPcrsAndIsRefused(@TempDir Path tmp) throws Exception {
    Path modified = tmp.resolve("enclave.jar");
    Files.write(modified, (Files.readString(dir.resolve("pw")) + " patched").getBytes());
    Map<Integer, byte[]> otherPcrs = SimulatedPcrs.of(modified, "config".getBytes(), "policy".getBytes());
    assertThat(otherPcrs.get(0)).isNotEqualTo(goodPcrs.get(0));
    HpkeKeyPair enclave = HPKE.generateKeyPair();
    assertThatThrownBy(() -> stub.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(KEY)
        .putAllEncryptionContext(CONTEXT).setRecipient(recipient(enclave, otherPcrs)).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
          assertThat(e.getStatus().getDescription()).startsWith("attestation refused: PCR_MISMATCH");
        });
    assertThat(Files.readString(dir.resolve("audit.jsonl"))).contains("\"reason\":\"PCR_MISMATCH\"");
  }

  @Test
  void replayedAndMismatchedNoncesAreRefused() throws Exception {
    HpkeKeyPair enclave = HPKE.generateKeyPair();
    Recipient r = recipient(enclave, goodPcrs);
    GenerateDataKeyRequest req = GenerateDataKeyRequest.newBuilder().setKeyId(KEY).putAllEncryptionContext(CONTEXT)
        .setRecipient(r).build();
    stub.generateDataKey(req);
    // the same document and nonce again: the nonce was used up
    assertThatThrownBy(() -> stub.generateDataKey(req)).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getDescription()).contains("already used (a replayed attestation document?)"));
    // an old document with a fresh nonce in the request: the document's nonce does not match
    ByteString fresh = stub.getChallenge(org.cloister.protocol.v1.ChallengeRequest.getDefaultInstance()).getNonce();
    Recipient old = r.toBuilder().setNonce(fresh).build();
    assertThatThrownBy(() -> stub.generateDataKey(req.toBuilder().setRecipient(old).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getDescription()).startsWith("attestation refused: NONCE_MISMATCH"));
    // a document without a public key to seal to
    ByteString n = stub.getChallenge(org.cloister.protocol.v1.ChallengeRequest.getDefaultInstance()).getNonce();
    byte[] noKey = authority.issue("test-enclave", goodPcrs, n.toByteArray(), null, null);
    assertThatThrownBy(() -> stub.generateDataKey(req.toBuilder().setRecipient(Recipient.newBuilder()
        .setEvidence(org.cloister.protocol.EvidenceWire.nitro(noKey)).setNonce(n)).build()))
        .hasMessageContaining("binds no 32-byte X25519 public key");
  }

  @Test
  void theOldNitroOnlyWireFormIsRefusedWithItsName() throws Exception {
    HpkeKeyPair enclave = HPKE.generateKeyPair();
    Recipient v2 = recipient(enclave, goodPcrs);
    Recipient v1 = Recipient.newBuilder().setLegacyAttestationDocument(v2.getEvidence().getEvidence())
        .setNonce(v2.getNonce()).build();
    assertThatThrownBy(() -> stub.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(KEY)
        .putAllEncryptionContext(CONTEXT).setRecipient(v1).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("wire form v1");
        });
    Recipient relabelled = v2.toBuilder().setEvidence(v2.getEvidence().toBuilder().setPlatform("sev-snp")).build();
    assertThatThrownBy(() -> stub.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(KEY)
        .putAllEncryptionContext(CONTEXT).setRecipient(relabelled).build()))
        .hasMessageContaining("sev-snp evidence without the public key its report data binds");
    // the same document in the v2 envelope is served (the nonce was not consumed by the refusals)
    assertThat(stub.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(KEY)
        .putAllEncryptionContext(CONTEXT).setRecipient(v2).build()).getCiphertextBlob()).isNotEmpty();
  }

  @Test
  void disablingAKeyMakesWrappedDataUnreadableUntilReEnabled() throws Exception {
    HpkeKeyPair enclave = HPKE.generateKeyPair();
    GenerateDataKeyResponse g = stub.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(KEY)
        .putAllEncryptionContext(CONTEXT).setRecipient(recipient(enclave, goodPcrs)).build());

    KeyBrokerAdminGrpc.KeyBrokerAdminBlockingStub anonymous = KeyBrokerAdminGrpc.newBlockingStub(channel);
    assertThatThrownBy(() -> anonymous.disableKey(KeyRequest.newBuilder().setKeyId(KEY).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    Metadata h = new Metadata();
    h.put(KeyBrokerAdminService.AUTHORIZATION, "Bearer admin-secret");
    KeyBrokerAdminGrpc.KeyBrokerAdminBlockingStub admin = anonymous.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h));
    try {
      assertThat(admin.disableKey(KeyRequest.newBuilder().setKeyId(KEY).build()).getEnabled()).isFalse();
      assertThatThrownBy(() -> stub.decrypt(DecryptRequest.newBuilder().setKeyId(KEY).setCiphertextBlob(g.getCiphertextBlob())
          .putAllEncryptionContext(CONTEXT).setRecipient(recipient(enclave, goodPcrs)).build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
            assertThat(e.getStatus().getDescription()).contains("is disabled");
          });
      assertThat(KeyPolicies.load(dir.resolve("policies.json")).get(KEY).orElseThrow().enabled()).isFalse();
    } finally {
      assertThat(admin.enableKey(KeyRequest.newBuilder().setKeyId(KEY).build()).getEnabled()).isTrue();
    }
    Recipient again = recipient(enclave, goodPcrs);
    stub.decrypt(DecryptRequest.newBuilder().setKeyId(KEY).setCiphertextBlob(g.getCiphertextBlob())
        .putAllEncryptionContext(CONTEXT).setRecipient(again).build());
    String audit = Files.readString(dir.resolve("audit.jsonl"));
    assertThat(audit).contains("\"operation\":\"DisableKey\"").contains("\"reason\":\"key_disabled\"")
        .contains("\"event\":\"release\"");
    assertThat(brokerOutput).anyMatch(l -> l.contains("NON-AWS attestation root"));
  }

  @Test
  void unknownKeysAndBadPoliciesAreNamed(@TempDir Path tmp) throws Exception {
    assertThatThrownBy(() -> stub.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId("nope")
        .setRecipient(recipient(HPKE.generateKeyPair(), goodPcrs)).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    assertThatThrownBy(() -> new KeyPolicy("Bad Id", true, Map.of(0, "00")))
        .hasMessageContaining("must match");
    assertThatThrownBy(() -> new KeyPolicy("k", true, Map.of(1, "00".repeat(48))))
        .hasMessageContaining("must pin at least PCR0");
    assertThatThrownBy(() -> BrokerKeystore.load(dir.resolve("keys.p12"), "wrong".toCharArray(), new SecureRandom()))
        .hasMessageContaining("wrong password or damaged file");
    Path p = tmp.resolve("p.json");
    Files.writeString(p, "{\"format\":\"cloister-key-policies/v1\",\"keys\":[{\"key_id\":\"k\",\"enabled\":true,"
        + "\"expected_pcrs\":{\"0\":\"xyz\"}}]}");
    assertThatThrownBy(() -> KeyPolicies.load(p)).hasMessageContaining("PCR0 must be 32, 48 or 64 bytes of hex");
  }

  @Test
  void aGrantAdmitsAnotherEnclaveByItsOwnPcrsForItsOperationsOnly() throws Exception {
    HpkeKeyPair aggregator = HPKE.generateKeyPair();
    Recipient ra = recipient(aggregator, goodPcrs);
    GenerateDataKeyResponse g = stub.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(KEY)
        .putAllEncryptionContext(CONTEXT).setRecipient(ra).build());
    byte[] dataKey = open(aggregator, "GenerateDataKey", ra, g.getCiphertextForRecipient());

    // the inference enclave may Decrypt what the aggregator wrapped...
    HpkeKeyPair inference = HPKE.generateKeyPair();
    Recipient ri = recipient(inference, inferencePcrs);
    byte[] got = open(inference, "Decrypt", ri, stub.decrypt(DecryptRequest.newBuilder().setKeyId(KEY)
        .setCiphertextBlob(g.getCiphertextBlob()).putAllEncryptionContext(CONTEXT).setRecipient(ri).build())
        .getCiphertextForRecipient());
    assertThat(got).isEqualTo(dataKey);
    // ...but not generate data keys of its own
    assertThatThrownBy(() -> stub.generateDataKey(GenerateDataKeyRequest.newBuilder().setKeyId(KEY)
        .putAllEncryptionContext(CONTEXT).setRecipient(recipient(inference, inferencePcrs)).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getDescription())
            .startsWith("attestation refused: PCR_MISMATCH").contains("no role allowed GenerateDataKey").contains("[producer]"));
    String audit = Files.readString(dir.resolve("audit.jsonl"));
    assertThat(audit).contains("\"role\":\"inference\"").contains("\"role\":\"producer\"");
  }

  @Test
  void grantsAreValidated() {
    assertThatThrownBy(() -> KeyPolicy.Grant.of("inference", List.of("Encrypt"), goodPcrs))
        .hasMessageContaining("operations must be a non-empty subset of");
    assertThatThrownBy(() -> KeyPolicy.Grant.of("producer", List.of("Decrypt"), goodPcrs))
        .hasMessageContaining("not 'producer'");
    KeyPolicy.Grant g = KeyPolicy.Grant.of("inference", List.of("Decrypt"), inferencePcrs);
    assertThatThrownBy(() -> new KeyPolicy(KEY, true, KeyPolicy.of(KEY, goodPcrs).expectedPcrs(), List.of(g, g)))
        .hasMessageContaining("granted twice");
    assertThat(KeyPolicy.of(KEY, goodPcrs).withGrant(g).rolesFor("Decrypt")).containsOnlyKeys("producer", "inference");
    assertThat(KeyPolicy.of(KEY, goodPcrs).withGrant(g).rolesFor("GenerateDataKey")).containsOnlyKeys("producer");
  }
}
