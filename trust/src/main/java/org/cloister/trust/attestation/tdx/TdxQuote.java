package org.cloister.trust.attestation.tdx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.FailureReason;

/**
 * An Intel DCAP quote for a TD (quote format v4, or v5 with a TD report 1.0 or 1.5 body), parsed with every
 * length checked against the bytes. Bytes after the signature data (padding of the quote generator) are ignored;
 * they are covered by no signature and nothing is read from them.
 */
final class TdxQuote {
  static final int HEADER = 48;
  static final int TD_REPORT_10 = 584;
  static final int TD_REPORT_15 = 648;
  static final int QE_REPORT = 384;

  final int version;
  final byte[] signed;
  final byte[] body;
  final byte[] signature;
  final byte[] attestationKey;
  final byte[] qeReport;
  final byte[] qeReportSignature;
  final byte[] qeAuthData;
  final byte[] pckChainPem;

  private TdxQuote(int version, byte[] signed, byte[] body, byte[] signature, byte[] attestationKey,
      byte[] qeReport, byte[] qeReportSignature, byte[] qeAuthData, byte[] pckChainPem) {
    this.version = version;
    this.signed = signed;
    this.body = body;
    this.signature = signature;
    this.attestationKey = attestationKey;
    this.qeReport = qeReport;
    this.qeReportSignature = qeReportSignature;
    this.qeAuthData = qeAuthData;
    this.pckChainPem = pckChainPem;
  }

  static TdxQuote parse(byte[] quote) throws AttestationException {
    Reader r = new Reader(quote);
    if (quote.length < HEADER) {
      throw malformed("a DCAP quote has a " + HEADER + "-byte header, got " + quote.length + " bytes");
    }
    int version = r.u16(0);
    int keyType = r.u16(2);
    long teeType = r.u32(4);
    if (version != 4 && version != 5) {
      throw malformed("DCAP quote version " + version + " is not supported (4 or 5)");
    }
    if (keyType != 2) {
      throw malformed("attestation key type " + keyType + " is not ECDSA-256-with-P-256 (2)");
    }
    if (teeType != 0x81) {
      throw malformed("TEE type 0x" + Long.toHexString(teeType) + " is not TDX (0x81)");
    }
    int bodyStart;
    int bodySize;
    if (version == 4) {
      bodyStart = HEADER;
      bodySize = TD_REPORT_10;
    } else {
      int type = r.u16(HEADER);
      long size = r.u32(HEADER + 2);
      if (type == 2 && size == TD_REPORT_10 || type == 3 && size == TD_REPORT_15) {
        bodyStart = HEADER + 6;
        bodySize = (int) size;
      } else {
        throw malformed("v5 quote body type " + type + " of " + size + " bytes is not a TD report 1.0 or 1.5");
      }
    }
    int signedEnd = bodyStart + bodySize;
    byte[] signed = r.bytes(0, signedEnd, "quote header and body");
    byte[] body = r.bytes(bodyStart, bodySize, "TD report");
    long sigDataLen = r.u32(signedEnd);
    int sigStart = signedEnd + 4;
    if (sigDataLen > quote.length - sigStart) {
      throw malformed("signature data of " + sigDataLen + " bytes runs past the quote's end");
    }
    int end = sigStart + (int) sigDataLen;
    Reader s = new Reader(Arrays.copyOfRange(quote, 0, end));
    byte[] signature = s.bytes(sigStart, 64, "quote signature");
    byte[] attestationKey = s.bytes(sigStart + 64, 64, "attestation key");
    int p = sigStart + 128;
    int certType = s.u16(p);
    long certSize = s.u32(p + 2);
    p += 6;
    if (certType != 6) {
      throw malformed("certification data type " + certType + " is not QE report certification data (6)");
    }
    if (certSize > end - p) {
      throw malformed("QE report certification data of " + certSize + " bytes runs past the signature data");
    }
    int certEnd = p + (int) certSize;
    Reader c = new Reader(Arrays.copyOfRange(quote, 0, certEnd));
    byte[] qeReport = c.bytes(p, QE_REPORT, "QE report");
    byte[] qeSig = c.bytes(p + QE_REPORT, 64, "QE report signature");
    p += QE_REPORT + 64;
    int authLen = c.u16(p);
    byte[] auth = c.bytes(p + 2, authLen, "QE authentication data");
    p += 2 + authLen;
    int innerType = c.u16(p);
    long innerSize = c.u32(p + 2);
    if (innerType != 5) {
      throw malformed("inner certification data type " + innerType + " is not the PCK certificate chain (5)");
    }
    if (innerSize > certEnd - (p + 6)) {
      throw malformed("PCK certificate chain of " + innerSize + " bytes runs past the certification data");
    }
    byte[] pem = c.bytes(p + 6, (int) innerSize, "PCK certificate chain");
    return new TdxQuote(version, signed, body, signature, attestationKey, qeReport, qeSig, auth, pem);
  }

  // TD report fields (offsets inside the body; identical in TD report 1.0 and 1.5)
  byte[] teeTcbSvn() {
    return Arrays.copyOfRange(body, 0, 16);
  }

  byte[] mrSeam() {
    return Arrays.copyOfRange(body, 16, 64);
  }

  byte[] mrSignerSeam() {
    return Arrays.copyOfRange(body, 64, 112);
  }

  byte[] seamAttributes() {
    return Arrays.copyOfRange(body, 112, 120);
  }

  byte[] tdAttributes() {
    return Arrays.copyOfRange(body, 120, 128);
  }

  byte[] mrTd() {
    return Arrays.copyOfRange(body, 136, 184);
  }

  byte[] mrConfigId() {
    return Arrays.copyOfRange(body, 184, 232);
  }

  byte[] mrOwner() {
    return Arrays.copyOfRange(body, 232, 280);
  }

  byte[] mrOwnerConfig() {
    return Arrays.copyOfRange(body, 280, 328);
  }

  byte[] rtmr(int i) {
    return Arrays.copyOfRange(body, 328 + 48 * i, 376 + 48 * i);
  }

  byte[] reportData() {
    return Arrays.copyOfRange(body, 520, 584);
  }

  /** TD attribute DEBUG (bit 0): the host VMM can read and write the TD's state. */
  boolean debug() {
    return (body[120] & 0x01) != 0;
  }

  // QE report (SGX REPORT_BODY) fields
  static byte[] qeMiscSelect(byte[] qe) {
    return Arrays.copyOfRange(qe, 16, 20);
  }

  static byte[] qeAttributes(byte[] qe) {
    return Arrays.copyOfRange(qe, 48, 64);
  }

  static byte[] qeMrSigner(byte[] qe) {
    return Arrays.copyOfRange(qe, 128, 160);
  }

  static int qeIsvProdId(byte[] qe) {
    return (qe[256] & 0xff) | ((qe[257] & 0xff) << 8);
  }

  static int qeIsvSvn(byte[] qe) {
    return (qe[258] & 0xff) | ((qe[259] & 0xff) << 8);
  }

  static byte[] qeReportData(byte[] qe) {
    return Arrays.copyOfRange(qe, 320, 384);
  }

  String pckChainText() {
    int n = pckChainPem.length;
    while (n > 0 && pckChainPem[n - 1] == 0) {
      n--;
    }
    return new String(pckChainPem, 0, n, StandardCharsets.US_ASCII);
  }

  private static AttestationException malformed(String message) {
    return new AttestationException(FailureReason.MALFORMED, message);
  }

  private static final class Reader {
    private final byte[] b;
    private final ByteBuffer le;

    Reader(byte[] b) {
      this.b = b;
      this.le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    int u16(int off) throws AttestationException {
      need(off, 2, "a length field");
      return le.getShort(off) & 0xffff;
    }

    long u32(int off) throws AttestationException {
      need(off, 4, "a length field");
      return le.getInt(off) & 0xffffffffL;
    }

    byte[] bytes(int off, int len, String what) throws AttestationException {
      need(off, len, what);
      return Arrays.copyOfRange(b, off, off + len);
    }

    private void need(int off, int len, String what) throws AttestationException {
      if (off < 0 || len < 0 || off > b.length - len) {
        throw malformed("the quote is truncated: " + what + " (" + len + " bytes at " + off + ") runs past its end");
      }
    }
  }
}
