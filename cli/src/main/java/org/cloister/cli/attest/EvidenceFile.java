package org.cloister.cli.attest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/** Reads an attestation document file holding raw CBOR or its base64 text (detected). */
final class EvidenceFile {
  /** Far above any real document (about 4.5 KiB); the verifier applies the exact limit. */
  static final long MAX_FILE_BYTES = 1 << 20;

  private EvidenceFile() {}

  /**
   * Returns the document bytes: the file as is when it starts like CBOR COSE_Sign1 (0x84, or tag 18
   * 0xd2), otherwise the base64 (standard or URL-safe, whitespace ignored) it contains. Text that is
   * not base64 is returned unchanged so the verifier reports it as malformed.
   */
  static byte[] read(Path file) throws IOException {
    long size = Files.size(file);
    if (size > MAX_FILE_BYTES) {
      throw new IOException(file + " is " + size + " bytes, more than any attestation document ("
          + MAX_FILE_BYTES + "-byte limit)");
    }
    return decode(Files.readAllBytes(file));
  }

  static byte[] decode(byte[] content) {
    if (content.length == 0) {
      return content;
    }
    int first = content[0] & 0xff;
    if (first == 0x84 || first == 0xd2) {
      return content;
    }
    String text = new String(content, StandardCharsets.US_ASCII).replaceAll("\\s+", "");
    if (!text.isEmpty() && text.matches("[A-Za-z0-9+/=_-]+")) {
      try {
        return (text.indexOf('-') >= 0 || text.indexOf('_') >= 0)
            ? Base64.getUrlDecoder().decode(text) : Base64.getDecoder().decode(text);
      } catch (IllegalArgumentException e) {
        return content;
      }
    }
    return content;
  }
}
