package org.cloister.trust.attestation.tdx;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.FailureReason;

/**
 * An Intel PCS v4 document {@code {"<body>": {...}, "signature": "<hex r||s>"}} with the exact bytes of the body
 * object as served: the signature covers those bytes, so they are cut from the raw text, never re-serialised.
 */
record SignedPcsJson(String source, byte[] signedBytes, PcsNode body, byte[] rawSignature) {

  static SignedPcsJson parse(Collateral.RawJson raw, String bodyField) throws AttestationException {
    String text = raw.text();
    try (JsonParser p = new JsonFactory().createParser(text)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw bad(raw, "not a JSON object");
      }
      String bodyText = null;
      String signature = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        if (bodyField.equals(name) && t == JsonToken.START_OBJECT) {
          if (bodyText != null) {
            throw bad(raw, "two '" + bodyField + "' members");
          }
          int start = (int) p.currentTokenLocation().getCharOffset();
          p.skipChildren();
          int end = (int) p.currentLocation().getCharOffset();
          bodyText = text.substring(start, end);
        } else if ("signature".equals(name) && t == JsonToken.VALUE_STRING) {
          if (signature != null) {
            throw bad(raw, "two 'signature' members");
          }
          signature = p.getText();
        } else {
          p.skipChildren();
        }
      }
      if (bodyText == null || signature == null) {
        throw bad(raw, "needs both '" + bodyField + "' (an object) and 'signature'");
      }
      byte[] sig = HexFormat.of().parseHex(signature);
      if (sig.length != 64) {
        throw bad(raw, "signature is " + sig.length + " bytes, not 64 (raw r||s, ECDSA P-256)");
      }
      return new SignedPcsJson(raw.source(), bodyText.getBytes(StandardCharsets.UTF_8), PcsNode.parse(bodyText),
          sig);
    } catch (IOException | IllegalArgumentException e) {
      throw new AttestationException(FailureReason.MALFORMED, raw.source() + ": not valid PCS JSON: "
          + e.getMessage(), e);
    }
  }

  private static AttestationException bad(Collateral.RawJson raw, String message) {
    return new AttestationException(FailureReason.MALFORMED, raw.source() + ": " + message);
  }
}
