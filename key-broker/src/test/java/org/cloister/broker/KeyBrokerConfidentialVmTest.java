package org.cloister.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.cloister.protocol.EvidenceWire;
import org.cloister.protocol.v1.ChallengeRequest;
import org.cloister.protocol.v1.DecryptRequest;
import org.cloister.protocol.v1.DecryptResponse;
import org.cloister.protocol.v1.GenerateDataKeyRequest;
import org.cloister.protocol.v1.GenerateDataKeyResponse;
import org.cloister.protocol.v1.KeyBrokerGrpc;
import org.cloister.protocol.v1.Recipient;
import org.cloister.protocol.v1.RecipientAad;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.ReportDataBinding;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.snp.SimulatedSnpPlatform;
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

/**
 * The key broker process releasing keys to an enclave on SEV-SNP: its policy pins the producer's and the inference
 * grantee's launch measurements by name; the evidence comes from {@link SimulatedSnpPlatform} (the test double of
 * SEV-SNP hardware), whose root the broker is told to trust with {@code --development-amd-root}; the VCEK and ASK
 * are in the broker's {@code --collateral} folder.
 */
class KeyBrokerConfidentialVmTest {
  static final String KEY = "cloister/model/snp";
  static final Map<String, String> CONTEXT = Map.of("study_id", "s1");
  static final byte[] PRODUCER = filled(0x11);
  static final byte[] INFERENCE = filled(0x22);
  /** A grantee whose policy sets an SEV-SNP TCB floor above the test double's SNP firmware SVN. */
  static final byte[] FLOORED = filled(0x44);
  static final Hpke HPKE = new Hpke();

  @TempDir
  static Path dir;
  static Process broker;
  static ManagedChannel channel;
  static KeyBrokerGrpc.KeyBrokerBlockingStub stub;
  static SimulatedSnpPlatform snp;
  static final List<String> output = new ArrayList<>();

  static byte[] filled(int b) {
    byte[] m = new byte[48];
    Arrays.fill(m, (byte) b);
    return m;
  }

  static MeasurementPins pins(byte[] measurement) {
    return new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", measurement), false);
  }

  @BeforeAll
  static void start() throws Exception {
    SecureRandom random = new SecureRandom();
    snp = new SimulatedSnpPlatform(7);
    Pem.writeCertificates(dir.resolve("dev-ark.pem"), List.of(snp.ark()));
    Path collateral = Files.createDirectories(dir.resolve("collateral"));
    Files.write(collateral.resolve("vcek.der"), snp.chainDer().get(0));
    Files.write(collateral.resolve("ask.der"), snp.chainDer().get(1));
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    CertificateAuthority ca = CertificateAuthority.createRoot("test CA", EcCurve.P256, now.minusSeconds(60),
        now.plus(1, ChronoUnit.DAYS), random);
    IssuedCertificate tls = ca.issueServer("cloister-key-broker", List.of("cloister-key-broker"), List.of("127.0.0.1"),
        now.minusSeconds(60), now.plus(1, ChronoUnit.DAYS));
    Pem.writeCertificates(dir.resolve("tls.pem"), tls.chain());
    Pem.writePrivateKey(dir.resolve("tls.key"), tls.privateKey());
    char[] password = "pw for the test keystore".toCharArray();
    Files.writeString(dir.resolve("pw"), new String(password));
    Files.writeString(dir.resolve("token"), "admin-secret");
    BrokerKeystore.create(dir.resolve("keys.p12"), password, random).createKey(KEY);
    KeyPolicies.create(dir.resolve("policies.json")).put(KeyPolicy.of(KEY, pins(PRODUCER))
        .withGrant(KeyPolicy.Grant.of("inference", List.of("Decrypt"), pins(INFERENCE)))
        .withGrant(KeyPolicy.Grant.of("floored", List.of("Decrypt"), new MeasurementPins(TeePlatform.SEV_SNP,
            Map.of("measurement", FLOORED), false, new org.cloister.trust.attestation.EvidencePolicy.TcbFloor(0,
                Map.of("snp", 200), -1)))));
    // the Nitro development root too: a Nitro document must still be refused by an SNP-only policy
    DevelopmentAttestationAuthority nitro = DevelopmentAttestationAuthority.generate(Clock.systemUTC(), random);
    Pem.writeCertificates(dir.resolve("nitro-root.pem"), List.of(nitro.rootCertificate()));
    authority = nitro;

    broker = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), KeyBrokerMain.class.getName(),
        "--keystore", dir.resolve("keys.p12").toString(), "--keystore-password-file", dir.resolve("pw").toString(),
        "--policies", dir.resolve("policies.json").toString(), "--tls-cert", dir.resolve("tls.pem").toString(),
        "--tls-key", dir.resolve("tls.key").toString(), "--audit-log", dir.resolve("audit.jsonl").toString(),
        "--admin-token-file", dir.resolve("token").toString(), "--attestation-root", dir.resolve("nitro-root.pem").toString(),
        "--collateral", collateral.toString(), "--development-amd-root", dir.resolve("dev-ark.pem").toString(),
        "--exit-with-parent").redirectErrorStream(true).start();
    BufferedReader r = new BufferedReader(new InputStreamReader(broker.getInputStream(), StandardCharsets.UTF_8));
    int port = -1;
    for (String line; (line = r.readLine()) != null; ) {
      output.add(line);
      if (line.startsWith(KeyBrokerMain.READY)) {
        port = Integer.parseInt(line.substring(line.indexOf("port=") + 5).trim());
        break;
      }
      if (line.startsWith(KeyBrokerMain.FAILED)) {
        throw new IllegalStateException(line);
      }
    }
    assertThat(port).as("broker output: %s", output).isPositive();
    assertThat(output).anyMatch(l -> l.contains("SEV-SNP TEST DOUBLE"));
    Thread drain = new Thread(() -> r.lines().forEach(l -> { }));
    drain.setDaemon(true);
    drain.start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port)
        .sslContext(GrpcSslContexts.forClient().trustManager(ca.certificate()).build())
        .overrideAuthority("cloister-key-broker").build();
    stub = KeyBrokerGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  static DevelopmentAttestationAuthority authority;

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

  /** What an enclave on the SNP test double does: a fresh challenge, a report binding it and its HPKE key. */
  static Recipient recipient(HpkeKeyPair enclave, byte[] measurement, byte[] keyBound) throws Exception {
    ByteString nonce = stub.getChallenge(ChallengeRequest.getDefaultInstance()).getNonce();
    byte[] report = snp.report(ReportDataBinding.reportData(nonce.toByteArray(), keyBound, new byte[0]), measurement,
        SimulatedSnpPlatform.POLICY);
    return Recipient.newBuilder().setNonce(nonce).setEvidence(EvidenceWire.confidentialVm("sev-snp", report, List.of(),
        enclave.publicKey(), new byte[0])).build();
  }

  static byte[] open(HpkeKeyPair enclave, String op, Recipient r, ByteString sealed) throws Exception {
    byte[] aad = RecipientAad.newBuilder().setOperation(op).setKeyId(KEY).setNonce(r.getNonce()).build().toByteArray();
    return HPKE.open(enclave, sealed.toByteArray(), KeyBrokerService.RECIPIENT_INFO, aad);
  }

  static GenerateDataKeyRequest generate(Recipient r) {
    return GenerateDataKeyRequest.newBuilder().setKeyId(KEY).putAllEncryptionContext(CONTEXT).setRecipient(r).build();
  }

  static void refused(Runnable call, String description) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(e.getStatus().getDescription()).contains(description);
    });
  }

  @Test
  void releasesToTheProducerAndTheGranteeOnSevSnpSealedToTheBoundKey() throws Exception {
    HpkeKeyPair enclave = HPKE.generateKeyPair();
    Recipient r = recipient(enclave, PRODUCER, enclave.publicKey());
    GenerateDataKeyResponse g = stub.generateDataKey(generate(r));
    byte[] dataKey = open(enclave, "GenerateDataKey", r, g.getCiphertextForRecipient());
    assertThat(dataKey).hasSize(32);

    HpkeKeyPair inference = HPKE.generateKeyPair();
    Recipient ri = recipient(inference, INFERENCE, inference.publicKey());
    DecryptResponse d = stub.decrypt(DecryptRequest.newBuilder().setKeyId(KEY).setCiphertextBlob(g.getCiphertextBlob())
        .putAllEncryptionContext(CONTEXT).setRecipient(ri).build());
    assertThat(open(inference, "Decrypt", ri, d.getCiphertextForRecipient())).isEqualTo(dataKey);
    assertThat(Files.readString(dir.resolve("audit.jsonl")))
        .contains("\"platform\":\"sev-snp\"", "\"role\":\"inference\"", "\"measurement\":\"" + "22".repeat(48) + "\"");
  }

  @Test
  void anotherMeasurementOrAGranteeOutsideItsOperationsIsRefused() throws Exception {
    HpkeKeyPair enclave = HPKE.generateKeyPair();
    refused(() -> stub.generateDataKey(generate(call(() -> recipient(enclave, filled(0x33), enclave.publicKey())))),
        "attestation refused: MEASUREMENT_MISMATCH");
    // the inference grantee may Decrypt only
    refused(() -> stub.generateDataKey(generate(call(() -> recipient(enclave, INFERENCE, enclave.publicKey())))),
        "MEASUREMENT_MISMATCH");
  }

  @Test
  void theTcbFloorOfTheMeasurementPinsIsEnforcedByTheBrokerAsBySites() throws Exception {
    // the floor survives KeyPolicy.of / Grant.of and the policies file: the broker enforces what sites enforce
    KeyPolicy.Grant floored = KeyPolicies.load(dir.resolve("policies.json")).get(KEY).orElseThrow().grants().stream()
        .filter(g -> g.role().equals("floored")).findFirst().orElseThrow();
    assertThat(floored.expected().pins().tcbFloor().minSnpTcb()).containsEntry("snp", 200);
    assertThat(floored.expected().pins().tcbFloor().maxVmpl()).isZero();
    HpkeKeyPair producer = HPKE.generateKeyPair();
    GenerateDataKeyResponse g = stub.generateDataKey(generate(recipient(producer, PRODUCER, producer.publicKey())));
    HpkeKeyPair enclave = HPKE.generateKeyPair();
    Recipient r = recipient(enclave, FLOORED, enclave.publicKey());
    refused(() -> stub.decrypt(DecryptRequest.newBuilder().setKeyId(KEY).setCiphertextBlob(g.getCiphertextBlob())
        .putAllEncryptionContext(CONTEXT).setRecipient(r).build()), "TCB_NOT_ACCEPTED");
    // a floor on a Nitro policy, or an out-of-range one, is an error naming it, never ignored
    assertThatThrownBy(() -> new KeyPolicy("k", true, Map.of(0, "00".repeat(48)), List.of(), null, null, null, 1,
        null, null)).hasMessageContaining("apply to SEV-SNP/TDX measurements only");
    assertThatThrownBy(() -> new KeyPolicy("k", true, null, List.of(), "sev-snp",
        Map.of("measurement", "00".repeat(48)), null, null, Map.of("firmware", 1), null))
        .hasMessageContaining("no component 'firmware'");
  }

  @Test
  void aRefusalNamesEveryRolesReasonSoATcbFloorHidesNoMeasurementMismatch() throws Exception {
    HpkeKeyPair producer = HPKE.generateKeyPair();
    GenerateDataKeyResponse g = stub.generateDataKey(generate(recipient(producer, PRODUCER, producer.publicKey())));
    HpkeKeyPair enclave = HPKE.generateKeyPair();
    Recipient r = call(() -> recipient(enclave, filled(0x33), enclave.publicKey()));
    assertThatThrownBy(() -> stub.decrypt(DecryptRequest.newBuilder().setKeyId(KEY).setCiphertextBlob(g.getCiphertextBlob())
        .putAllEncryptionContext(CONTEXT).setRecipient(r).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
          assertThat(e.getStatus().getDescription()).contains("inference: MEASUREMENT_MISMATCH", "floored: ");
        });
  }

  @Test
  void aKeySubstitutedByTheHostOrAReplayedReportIsRefused() throws Exception {
    HpkeKeyPair enclave = HPKE.generateKeyPair();
    HpkeKeyPair host = HPKE.generateKeyPair();
    // the report binds the enclave's key, the host sends its own beside it
    Recipient substituted = recipient(enclave, PRODUCER, enclave.publicKey()).toBuilder()
        .setEvidence(recipient(enclave, PRODUCER, enclave.publicKey()).getEvidence().toBuilder()
            .setPublicKey(ByteString.copyFrom(host.publicKey()))).build();
    refused(() -> stub.generateDataKey(generate(substituted)), "NONCE_MISMATCH");
    // a report made for one nonce, presented with a fresh one
    Recipient old = recipient(enclave, PRODUCER, enclave.publicKey());
    ByteString fresh = stub.getChallenge(ChallengeRequest.getDefaultInstance()).getNonce();
    refused(() -> stub.generateDataKey(generate(old.toBuilder().setNonce(fresh).build())), "NONCE_MISMATCH");
  }

  @Test
  void aNitroDocumentToAPolicyPinningSevSnpIsRefusedNamingThePlatforms() throws Exception {
    HpkeKeyPair enclave = HPKE.generateKeyPair();
    ByteString nonce = stub.getChallenge(ChallengeRequest.getDefaultInstance()).getNonce();
    byte[] doc = authority.issue("e", Map.of(0, filled(0x11), 1, filled(1), 2, filled(2)), nonce.toByteArray(), null,
        enclave.publicKey());
    refused(() -> stub.generateDataKey(generate(Recipient.newBuilder().setNonce(nonce)
        .setEvidence(EvidenceWire.nitro(doc)).build())), "sent nitro evidence but no role allowed GenerateDataKey");
  }

  @Test
  void policiesPinOnePlatformPerRoleAndRoundTripThroughTheFile(@TempDir Path tmp) throws Exception {
    Map<String, String> m = Map.of("measurement", "11".repeat(48));
    assertThatThrownBy(() -> new KeyPolicy("k", true, Map.of(0, "00".repeat(48)), List.of(), "sev-snp", m, null))
        .hasMessageContaining("exclude each other");
    assertThatThrownBy(() -> new KeyPolicy("k", true, null, List.of(), "sev-snp", null, null))
        .hasMessageContaining("needs 'expected_measurements' [measurement]");
    assertThatThrownBy(() -> new KeyPolicy("k", true, null, List.of(), null, m, null))
        .hasMessageContaining("need a 'platform'");
    assertThatThrownBy(() -> new KeyPolicy("k", true, null, List.of(), "tdx", Map.of("mr_td", "00".repeat(48)), null))
        .hasMessageContaining("lack 'rtmr0'");
    assertThatThrownBy(() -> new KeyPolicy("k", true, null, List.of(), "nitro", Map.of("pcr0", "00".repeat(48)), null))
        .hasMessageContaining("pinned by 'expected_pcrs'");
    assertThatThrownBy(() -> new KeyPolicy("k", true, null, List.of(), "sev-snp", m, "any"))
        .hasMessageContaining("accept_tcb must be up-to-date or out-of-date");
    assertThatThrownBy(() -> new KeyPolicy("k", true, null))
        .hasMessageContaining("must pin at least PCR0");

    KeyPolicies p = KeyPolicies.create(tmp.resolve("p.json"));
    p.put(KeyPolicy.of(KEY, pins(PRODUCER)).withGrant(KeyPolicy.Grant.of("inference", List.of("Decrypt"), pins(INFERENCE))));
    String json = Files.readString(tmp.resolve("p.json"));
    assertThat(json).contains("\"platform\" : \"sev-snp\"", "\"expected_measurements\"").doesNotContain("expected_pcrs");
    KeyPolicy back = KeyPolicies.load(tmp.resolve("p.json")).get(KEY).orElseThrow();
    assertThat(back.expected().pins().values().get("measurement")).isEqualTo(PRODUCER);
    assertThat(back.rolesFor("Decrypt").get("inference").platform()).isEqualTo(TeePlatform.SEV_SNP);
  }

  interface Call<T> {
    T get() throws Exception;
  }

  static <T> T call(Call<T> c) {
    try {
      return c.get();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
