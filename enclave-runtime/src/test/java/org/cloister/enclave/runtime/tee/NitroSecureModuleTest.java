package org.cloister.enclave.runtime.tee;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.cloister.enclave.runtime.AttestationPlatformsAccess;
import org.cloister.enclave.runtime.EvidenceSource;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.attestation.nitro.SimulatedNitroPlatform;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attestation documents from the Nitro Secure Module: our CBOR request, {@code nsm_raw} structure and ioctl
 * against {@link FakeNsmDevice}, the test double of {@code /dev/nsm} only; the document reaches the verifier
 * binding the nonce, user data and key; the NSM's errors are named; without the device the platform is refused
 * (never a silent fall back to the simulated one).
 */
class NitroSecureModuleTest {
  private static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");
  private static DevelopmentAttestationAuthority authority;
  private static Map<Integer, byte[]> pcrs;

  @TempDir
  Path dir;

  @BeforeAll
  static void nsm() {
    authority = DevelopmentAttestationAuthority.generate(Clock.fixed(NOW, ZoneOffset.UTC), new SecureRandom());
    pcrs = Map.of(0, new byte[48], 1, new byte[48], 2, new byte[48]);
    pcrs = Map.of(0, filled(0x10), 1, filled(0x11), 2, filled(0x12));
  }

  @Test
  void theNsmsDocumentBindsNonceUserDataAndKey() throws Exception {
    FakeNsmDevice device = new FakeNsmDevice(new SimulatedNitroPlatform(authority, "i-0abc-enc0", pcrs));
    EvidenceSource source = EvidenceSource.nitro(new NitroSecureModule(() -> device));
    byte[] nonce = {1, 2, 3};
    byte[] key = new byte[32];
    key[0] = 7;
    byte[] doc = ((EvidenceSource.Nitro) source).platform().attestationDocument(nonce, new byte[] {9}, key);
    assertThat(device.lastRequest.get("Attestation").has("user_data")).isTrue();
    VerifiedAttestation a = new NitroAttestationVerifier(authority.rootCertificate()).verify(doc,
        VerificationPolicy.at(NOW).withExpectedNonce(nonce).withExpectedPcr(0, pcrs.get(0)));
    assertThat(a.publicKey()).hasValueSatisfying(k -> assertThat(k).isEqualTo(key));
    assertThat(a.userData()).hasValueSatisfying(u -> assertThat(u).containsExactly(9));
    assertThat(source.evidence(nonce, null, key).getPlatform()).isEqualTo("nitro");
  }

  @Test
  void anAbsentFieldIsSentAsNullAndTheNsmsErrorIsNamed() {
    FakeNsmDevice device = new FakeNsmDevice(new SimulatedNitroPlatform(authority, "i-0abc-enc0", pcrs));
    NitroSecureModule nsm = new NitroSecureModule(() -> device);
    nsm.attestationDocument(new byte[] {1}, null, new byte[32]);
    assertThat(device.lastRequest.get("Attestation").get("user_data").isNull()).isTrue();
    device.error = "InputTooLarge";
    assertThatThrownBy(() -> nsm.attestationDocument(new byte[] {1}, null, new byte[32]))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("InputTooLarge");
  }

  @Test
  void withoutTheDeviceNitroIsRefusedAndAFileThatIsNotTheDeviceFailsItsIoctl() throws Exception {
    assertThatThrownBy(() -> AttestationPlatformsAccess.open("nitro", dir, dir, dir.resolve("nsm"),
        new PrintStream(new ByteArrayOutputStream())))
        .hasMessageContaining("no Nitro Secure Module at " + dir.resolve("nsm"));
    Path notADevice = Files.write(dir.resolve("nsm-file"), new byte[0]);
    EvidenceSource source = AttestationPlatformsAccess.open("nitro", dir, dir, notADevice,
        new PrintStream(new ByteArrayOutputStream()));
    assertThatThrownBy(() -> source.evidence(new byte[32], null, new byte[32]))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("Nitro Secure Module")
        .hasMessageContaining("errno 25");
  }

  private static byte[] filled(int v) {
    byte[] b = new byte[48];
    java.util.Arrays.fill(b, (byte) v);
    return b;
  }

  @Test
  void requestBytesAreThoseOfJacksonDatabindAndResponsesAreReadLikeIt() throws Exception {
    // the independent reference: databind's CBOR tree writer, which wrote the request before the image lost databind
    com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper cbor = new com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper();
    com.fasterxml.jackson.databind.node.ObjectNode fields = cbor.createObjectNode();
    fields.put("user_data", new byte[] {1, 2, 3});
    fields.putNull("nonce");
    fields.put("public_key", new byte[32]);
    com.fasterxml.jackson.databind.node.ObjectNode root = cbor.createObjectNode();
    root.set("Attestation", fields);
    assertThat(NitroSecureModule.request(null, new byte[] {1, 2, 3}, new byte[32])).isEqualTo(cbor.writeValueAsBytes(root));

    byte[] doc = {9, 8, 7};
    assertThat(NitroSecureModule.document(cbor.writeValueAsBytes(Map.of("Attestation", Map.of("document", doc)))))
        .isEqualTo(doc);
    assertThatThrownBy(() -> NitroSecureModule.document(cbor.writeValueAsBytes(Map.of("Error", "InputTooLarge"))))
        .hasMessageContaining("refused the attestation request: InputTooLarge");
    assertThatThrownBy(() -> NitroSecureModule.document(cbor.writeValueAsBytes(Map.of("Attestation", Map.of("document", "text")))))
        .hasMessageContaining("neither an Attestation document nor an Error");
    assertThatThrownBy(() -> NitroSecureModule.document(new byte[] {(byte) 0xbf, 0x61}))
        .hasMessageContaining("not CBOR");
  }
}
