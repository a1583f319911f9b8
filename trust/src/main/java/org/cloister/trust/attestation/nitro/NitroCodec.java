package org.cloister.trust.attestation.nitro;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.CBORGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.cbor.CborValues;

/**
 * CBOR/COSE encoding of AWS Nitro Enclaves attestation documents (COSE_Sign1, RFC 9052, with the
 * payload defined in the NSM API's attestation document specification). Parsing is strict: every
 * structural problem or field-limit violation becomes {@link FailureReason#MALFORMED} naming the field.
 */
final class NitroCodec {
  /** Whole-document limit: real documents are about 4.5 KiB; 3 x 1 KiB of optional fields fits well below. */
  static final int MAX_DOCUMENT_BYTES = 32 * 1024;
  static final int MAX_OPTIONAL_FIELD_BYTES = 1024;
  static final int MAX_PCRS = 32;
  static final int MAX_MODULE_ID_CHARS = 256;
  static final int MAX_CERTIFICATE_BYTES = 4096;
  static final int MAX_CABUNDLE_ENTRIES = 8;
  static final int SIGNATURE_BYTES = 96;
  static final String DIGEST = "SHA384";
  /** Protected header {1: -35}: alg = ES384. */
  static final byte[] PROTECTED_ES384 = {(byte) 0xa1, 0x01, 0x38, 0x22};

  private static final int COSE_ALG_ES384 = -35;

  private final CBORFactory factory;

  NitroCodec() {
    this.factory = CBORFactory.builder()
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).build())
        .build();
  }

  NitroDocument parse(byte[] evidence) throws AttestationException {
    if (evidence == null || evidence.length == 0) {
      throw malformed("attestation document is empty");
    }
    if (evidence.length > MAX_DOCUMENT_BYTES) {
      throw malformed("attestation document is " + evidence.length + " bytes, limit " + MAX_DOCUMENT_BYTES);
    }
    int first = evidence[0] & 0xff;
    // Untagged COSE_Sign1 (array of 4, 0x84) as the NSM produces, or tagged with COSE tag 18 (0xd2 0x84).
    boolean tagged = first == 0xd2 && evidence.length > 1 && (evidence[1] & 0xff) == 0x84;
    if (first != 0x84 && !tagged) {
      throw malformed(String.format("not a COSE_Sign1 structure: first byte 0x%02x, expected 0x84 "
          + "(array of 4) or 0xd2 0x84 (tag 18)", first));
    }
    if (!(readTree(evidence, "COSE_Sign1") instanceof List<?> root) || root.size() != 4) {
      throw malformed("COSE_Sign1 must be an array of 4 elements");
    }
    byte[] protectedHeader = binary(root.get(0), "COSE_Sign1 protected header", 64);
    checkProtectedHeader(protectedHeader);
    if (!(root.get(1) instanceof Map<?, ?>)) {
      throw malformed("COSE_Sign1 unprotected header must be a map, found " + describe(root.get(1)));
    }
    byte[] payload = binary(root.get(2), "COSE_Sign1 payload", MAX_DOCUMENT_BYTES);
    byte[] signature = binary(root.get(3), "COSE_Sign1 signature", SIGNATURE_BYTES);
    if (signature.length != SIGNATURE_BYTES) {
      throw malformed("ES384 signature must be " + SIGNATURE_BYTES + " bytes (raw r||s), found " + signature.length);
    }
    return parsePayload(protectedHeader, payload, signature);
  }

  private void checkProtectedHeader(byte[] protectedHeader) throws AttestationException {
    if (!(readTree(protectedHeader, "protected header") instanceof Map<?, ?> header) || header.size() != 1
        || !header.containsKey("1")) {
      throw malformed("protected header must be exactly {1: -35} (alg ES384)");
    }
    Object alg = header.get("1");
    if (!(alg instanceof Integer a) || a != COSE_ALG_ES384) {
      throw malformed("protected header alg must be -35 (ES384), found " + alg);
    }
  }

  private NitroDocument parsePayload(byte[] protectedHeader, byte[] payloadBytes, byte[] signature)
      throws AttestationException {
    Object tree = readTree(payloadBytes, "payload");
    if (!(tree instanceof Map<?, ?> payload)) {
      throw malformed("payload must be a CBOR map, found " + describe(tree));
    }
    String moduleId = text(required(payload, "module_id"), "module_id");
    if (moduleId.isEmpty() || moduleId.length() > MAX_MODULE_ID_CHARS) {
      throw malformed("module_id must be 1.." + MAX_MODULE_ID_CHARS + " characters, found " + moduleId.length());
    }
    String digest = text(required(payload, "digest"), "digest");
    if (!DIGEST.equals(digest)) {
      throw malformed("digest must be " + DIGEST + ", found " + digest);
    }
    Object ts = required(payload, "timestamp");
    if (!(ts instanceof Integer || ts instanceof Long) || ((Number) ts).longValue() < 0) {
      throw malformed("timestamp must be an unsigned integer of milliseconds, found " + describe(ts));
    }
    SortedMap<Integer, byte[]> pcrs = pcrs(required(payload, "pcrs"));
    byte[] certificate = binary(required(payload, "certificate"), "certificate", MAX_CERTIFICATE_BYTES);
    List<byte[]> cabundle = cabundle(required(payload, "cabundle"));
    return new NitroDocument(protectedHeader, payloadBytes, signature, moduleId, ((Number) ts).longValue(), digest, pcrs,
        certificate, cabundle,
        optionalBinary(payload, "public_key"), optionalBinary(payload, "user_data"), optionalBinary(payload, "nonce"));
  }

  private SortedMap<Integer, byte[]> pcrs(Object tree) throws AttestationException {
    if (!(tree instanceof Map<?, ?> node)) {
      throw malformed("pcrs must be a map, found " + describe(tree));
    }
    if (node.size() == 0 || node.size() > MAX_PCRS) {
      throw malformed("pcrs must hold 1.." + MAX_PCRS + " entries, found " + node.size());
    }
    TreeMap<Integer, byte[]> pcrs = new TreeMap<>();
    for (Map.Entry<?, ?> e : node.entrySet()) {
      int index;
      try {
        index = Integer.parseInt((String) e.getKey());
      } catch (NumberFormatException ex) {
        throw malformed("pcrs key must be an integer index, found \"" + e.getKey() + "\"");
      }
      if (index < 0 || index >= MAX_PCRS) {
        throw malformed("PCR index must be 0.." + (MAX_PCRS - 1) + ", found " + index);
      }
      byte[] value = binary(e.getValue(), "PCR" + index, 64);
      if (value.length != 32 && value.length != 48 && value.length != 64) {
        throw malformed("PCR" + index + " must be 32, 48 or 64 bytes, found " + value.length);
      }
      if (pcrs.put(index, value) != null) {
        throw malformed("PCR" + index + " appears twice");
      }
    }
    for (int i = 0; i <= 2; i++) {
      if (!pcrs.containsKey(i)) {
        throw malformed("PCR" + i + " is missing (Nitro documents always carry PCR0..PCR2)");
      }
    }
    return Collections.unmodifiableSortedMap(pcrs);
  }

  private List<byte[]> cabundle(Object tree) throws AttestationException {
    if (tree == CborValues.NULL) {
      // Not what the NSM emits; such a document can only be trusted if its leaf is issued by the root itself,
      // which chain validation decides (reported as UNTRUSTED_ROOT otherwise).
      return List.of();
    }
    if (!(tree instanceof List<?> node)) {
      throw malformed("cabundle must be an array of certificates, found " + describe(tree));
    }
    if (node.size() > MAX_CABUNDLE_ENTRIES) {
      throw malformed("cabundle holds " + node.size() + " certificates, limit " + MAX_CABUNDLE_ENTRIES);
    }
    List<byte[]> result = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      result.add(binary(node.get(i), "cabundle[" + i + "]", MAX_CERTIFICATE_BYTES));
    }
    return List.copyOf(result);
  }

  private static byte[] optionalBinary(Map<?, ?> payload, String field) throws AttestationException {
    Object node = payload.get(field);
    if (node == null || node == CborValues.NULL) {
      return null;
    }
    return binary(node, field, MAX_OPTIONAL_FIELD_BYTES);
  }

  private static Object required(Map<?, ?> payload, String field) throws AttestationException {
    Object node = payload.get(field);
    if (node == null) {
      throw malformed("payload field " + field + " is missing");
    }
    return node;
  }

  private static String text(Object node, String field) throws AttestationException {
    if (!(node instanceof String s)) {
      throw malformed(field + " must be a text string, found " + describe(node));
    }
    return s;
  }

  private static byte[] binary(Object node, String field, int maxBytes) throws AttestationException {
    if (!(node instanceof byte[] value)) {
      throw malformed(field + " must be a byte string, found " + describe(node));
    }
    if (value.length > maxBytes) {
      throw malformed(field + " is " + value.length + " bytes, limit " + maxBytes);
    }
    return value;
  }

  private Object readTree(byte[] bytes, String what) throws AttestationException {
    try (JsonParser parser = factory.createParser(bytes)) {
      if (parser.nextToken() == null) {
        throw malformed(what + " is empty");
      }
      Object node = CborValues.read(parser);
      if (parser.nextToken() != null) {
        throw malformed(what + " has trailing bytes after the CBOR item");
      }
      return node;
    } catch (IOException e) {
      throw new AttestationException(FailureReason.MALFORMED,
          what + " is not well-formed CBOR: " + firstLine(e.getMessage()), e);
    }
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unknown error";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }

  private static String describe(Object node) {
    return CborValues.describe(node);
  }

  private static AttestationException malformed(String message) {
    return new AttestationException(FailureReason.MALFORMED, message);
  }

  // ---- encoding (used by the development authority) ----

  /** The COSE Sig_structure ["Signature1", protected, external_aad = h'', payload] that ES384 signs. */
  byte[] sigStructure(byte[] protectedHeader, byte[] payload) {
    return write(g -> {
      g.writeStartArray(null, 4);
      g.writeString("Signature1");
      g.writeBinary(protectedHeader);
      g.writeBinary(new byte[0]);
      g.writeBinary(payload);
      g.writeEndArray();
    });
  }

  /** Untagged COSE_Sign1 [protected, {}, payload, signature], as the NSM emits it. */
  byte[] sign1(byte[] protectedHeader, byte[] payload, byte[] signature) {
    return write(g -> {
      g.writeStartArray(null, 4);
      g.writeBinary(protectedHeader);
      g.writeStartObject(null, 0);
      g.writeEndObject();
      g.writeBinary(payload);
      g.writeBinary(signature);
      g.writeEndArray();
    });
  }

  /** The payload map in the NSM's field order; absent optional fields are CBOR null as on real hardware. */
  byte[] payload(String moduleId, long timestampMillis, SortedMap<Integer, byte[]> pcrs, byte[] certificate,
      List<byte[]> cabundle, byte[] publicKey, byte[] userData, byte[] nonce) {
    return write(g -> {
      g.writeStartObject(null, 9);
      g.writeFieldName("module_id");
      g.writeString(moduleId);
      g.writeFieldName("digest");
      g.writeString(DIGEST);
      g.writeFieldName("timestamp");
      g.writeNumber(timestampMillis);
      g.writeFieldName("pcrs");
      g.writeStartObject(null, pcrs.size());
      for (Map.Entry<Integer, byte[]> e : pcrs.entrySet()) {
        g.writeFieldId(e.getKey());
        g.writeBinary(e.getValue());
      }
      g.writeEndObject();
      g.writeFieldName("certificate");
      g.writeBinary(certificate);
      g.writeFieldName("cabundle");
      g.writeStartArray(null, cabundle.size());
      for (byte[] c : cabundle) {
        g.writeBinary(c);
      }
      g.writeEndArray();
      writeOptional(g, "public_key", publicKey);
      writeOptional(g, "user_data", userData);
      writeOptional(g, "nonce", nonce);
      g.writeEndObject();
    });
  }

  private static void writeOptional(CBORGenerator g, String field, byte[] value) throws IOException {
    g.writeFieldName(field);
    if (value == null) {
      g.writeNull();
    } else {
      g.writeBinary(value);
    }
  }

  private interface Writer {
    void write(CBORGenerator g) throws IOException;
  }

  private byte[] write(Writer writer) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (CBORGenerator g = factory.createGenerator(out)) {
      g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
      writer.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

}
