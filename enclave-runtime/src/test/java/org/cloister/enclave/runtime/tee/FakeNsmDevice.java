package org.cloister.enclave.runtime.tee;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.util.Map;
import org.cloister.trust.attestation.nitro.SimulatedNitroPlatform;

/**
 * TEST DOUBLE of the Nitro Secure Module's device ({@code /dev/nsm}): reads the {@code nsm_raw} structure and the
 * CBOR request it points to from native memory like AWS's driver, answers an {@code Attestation} request with a
 * document of the {@link SimulatedNitroPlatform} (signed by a development root, not by AWS), writes the CBOR
 * response into the caller's buffer and its length into {@code response.len}; {@code error} makes it answer with
 * an NSM {@code Error} instead.
 */
final class FakeNsmDevice implements DeviceFile {
  private static final CBORMapper CBOR = new CBORMapper();
  private final SimulatedNitroPlatform platform;
  String error;
  JsonNode lastRequest;

  FakeNsmDevice(SimulatedNitroPlatform platform) {
    this.platform = platform;
  }

  @Override
  public void ioctl(long request, Pointer argument) throws IOException {
    if (request != NitroSecureModule.NSM_REQUEST) {
      throw new IoctlException("unknown NSM ioctl", FakeSevGuestDevice.ENOTTY);
    }
    byte[] req = new Pointer(argument.getLong(0)).getByteArray(0, (int) argument.getLong(8));
    Pointer resp = new Pointer(argument.getLong(16));
    long capacity = argument.getLong(24);
    lastRequest = CBOR.readTree(req);
    JsonNode a = lastRequest.get("Attestation");
    byte[] answer;
    if (error != null) {
      answer = CBOR.writeValueAsBytes(Map.of("Error", error));
    } else if (a == null) {
      answer = CBOR.writeValueAsBytes(Map.of("Error", "InvalidOperation"));
    } else {
      byte[] doc = platform.attestationDocument(bytes(a, "nonce"), bytes(a, "user_data"), bytes(a, "public_key"));
      answer = CBOR.writeValueAsBytes(Map.of("Attestation", Map.of("document", doc)));
    }
    if (answer.length > capacity) {
      throw new IoctlException("response buffer too small", FakeSevGuestDevice.EINVAL);
    }
    resp.write(0, answer, 0, answer.length);
    argument.setLong(24, answer.length);
  }

  private static byte[] bytes(JsonNode n, String field) throws IOException {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.binaryValue();
  }

  @Override
  public void close() {
  }
}
