package org.cloister.enclave.runtime.tee;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Objects;
import org.cloister.trust.attestation.AttestationPlatform;

/**
 * Attestation documents from the Nitro Secure Module inside an AWS Nitro enclave, through its device
 * ({@code /dev/nsm}) as AWS's {@code aws-nitro-enclaves-nsm-api} driver defines it: one ioctl carrying a CBOR
 * request and a buffer for the CBOR response,
 *
 * <pre>
 *   struct nsm_iovec { u64 addr; u64 len; };
 *   struct nsm_raw   { struct nsm_iovec request; struct nsm_iovec response; };     32 bytes
 *   NSM_REQUEST = _IOWR(0x0A, 0, struct nsm_raw)
 *   request  {"Attestation": {"user_data": bstr / null, "nonce": bstr / null, "public_key": bstr / null}}
 *   response {"Attestation": {"document": bstr}}   or   {"Error": "InvalidArgument" / "InputTooLarge" / ...}
 * </pre>
 * (serde's encoding of the API's {@code Request::Attestation} and {@code Response} enums). The driver writes the
 * response's length back into {@code response.len}. The document is returned as the NSM signed it; verifiers
 * check it under the AWS Nitro root like any other.
 */
public final class NitroSecureModule implements AttestationPlatform {
  /** Where the Nitro enclave kernel exposes the NSM. */
  public static final Path DEFAULT_DEVICE = Path.of("/dev/nsm");
  public static final long NSM_REQUEST = DeviceFile.iowr(0x0A, 0, 32);
  /** The driver's limits on the CBOR request and response. */
  static final int MAX_REQUEST = 0x1000;
  static final int MAX_RESPONSE = 0x3000;
  private static final CBORMapper CBOR = new CBORMapper();

  private final DeviceFile.Opener device;

  public NitroSecureModule(DeviceFile.Opener device) {
    this.device = Objects.requireNonNull(device, "device");
  }

  /** The real NSM device at {@code path}. */
  public static NitroSecureModule at(Path path) {
    return new NitroSecureModule(() -> DeviceFile.open(path));
  }

  /**
   * @throws IllegalStateException naming the NSM's error or the device failure
   * @throws IllegalArgumentException when the request exceeds the driver's limit
   */
  @Override
  public byte[] attestationDocument(byte[] nonce, byte[] userData, byte[] publicKey) {
    byte[] request = request(nonce, userData, publicKey);
    if (request.length > MAX_REQUEST) {
      throw new IllegalArgumentException("NSM attestation request of " + request.length + " bytes exceeds the "
          + "driver's " + MAX_REQUEST);
    }
    try (DeviceFile dev = device.open()) {
      Memory req = new Memory(request.length);
      req.write(0, request, 0, request.length);
      Memory resp = new Memory(MAX_RESPONSE);
      resp.clear();
      Memory raw = new Memory(32);
      raw.setLong(0, Pointer.nativeValue(req));
      raw.setLong(8, request.length);
      raw.setLong(16, Pointer.nativeValue(resp));
      raw.setLong(24, MAX_RESPONSE);
      dev.ioctl(NSM_REQUEST, raw);
      long length = raw.getLong(24);
      if (length <= 0 || length > MAX_RESPONSE) {
        throw new IllegalStateException("the NSM answered with a response of " + length + " bytes");
      }
      return document(resp.getByteArray(0, (int) length));
    } catch (IOException e) {
      throw new IllegalStateException("the Nitro Secure Module did not answer the attestation request: "
          + e.getMessage(), e);
    }
  }

  /** The CBOR {@code Attestation} request. */
  static byte[] request(byte[] nonce, byte[] userData, byte[] publicKey) {
    ObjectNode fields = CBOR.createObjectNode();
    put(fields, "user_data", userData);
    put(fields, "nonce", nonce);
    put(fields, "public_key", publicKey);
    ObjectNode root = CBOR.createObjectNode();
    root.set("Attestation", fields);
    try {
      return CBOR.writeValueAsBytes(root);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void put(ObjectNode node, String name, byte[] value) {
    if (value == null) {
      node.putNull(name);
    } else {
      node.put(name, value);
    }
  }

  /** The document of an {@code Attestation} response; an {@code Error} response names the NSM's error. */
  static byte[] document(byte[] response) {
    JsonNode root;
    try {
      root = CBOR.readTree(response);
    } catch (IOException e) {
      throw new IllegalStateException("the NSM's response is not CBOR: " + e.getMessage(), e);
    }
    if (root != null && root.has("Error")) {
      throw new IllegalStateException("the NSM refused the attestation request: " + root.get("Error").asText());
    }
    JsonNode doc = root == null ? null : root.path("Attestation").get("document");
    if (doc == null || !doc.isBinary()) {
      throw new IllegalStateException("the NSM's response is neither an Attestation document nor an Error");
    }
    try {
      return doc.binaryValue();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
