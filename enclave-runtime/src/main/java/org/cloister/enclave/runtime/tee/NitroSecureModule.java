package org.cloister.enclave.runtime.tee;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.CBORGenerator;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import org.cloister.trust.attestation.AttestationPlatform;
import org.cloister.trust.cbor.CborValues;

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
  private static final CBORFactory CBOR = CBORFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).build())
      .build();

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

  /** The CBOR {@code Attestation} request (indefinite-length maps, as serde and Jackson write them). */
  static byte[] request(byte[] nonce, byte[] userData, byte[] publicKey) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (CBORGenerator g = CBOR.createGenerator(out)) {
      g.writeStartObject();
      g.writeFieldName("Attestation");
      g.writeStartObject();
      put(g, "user_data", userData);
      put(g, "nonce", nonce);
      put(g, "public_key", publicKey);
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void put(CBORGenerator g, String name, byte[] value) throws IOException {
    g.writeFieldName(name);
    if (value == null) {
      g.writeNull();
    } else {
      g.writeBinary(value);
    }
  }

  /** The document of an {@code Attestation} response; an {@code Error} response names the NSM's error. */
  static byte[] document(byte[] response) {
    Object root;
    try (JsonParser p = CBOR.createParser(response)) {
      root = p.nextToken() == null ? null : CborValues.read(p);
    } catch (IOException e) {
      throw new IllegalStateException("the NSM's response is not CBOR: " + e.getMessage(), e);
    }
    if (root instanceof Map<?, ?> map && map.containsKey("Error")) {
      Object error = map.get("Error");
      throw new IllegalStateException("the NSM refused the attestation request: "
          + (error instanceof String s ? s : CborValues.describe(error)));
    }
    if (root instanceof Map<?, ?> map && map.get("Attestation") instanceof Map<?, ?> attestation
        && attestation.get("document") instanceof byte[] doc) {
      return doc;
    }
    throw new IllegalStateException("the NSM's response is neither an Attestation document nor an Error");
  }
}
