package org.cloister.trust.pki;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/** Reading and writing X.509 certificates (PEM or DER) and PKCS#8 private keys (PEM). */
public final class Pem {
  /** Files larger than this are refused before parsing. */
  public static final int MAX_FILE_BYTES = 1 << 20;

  private Pem() {}

  /** PEM text of the certificates, in order. */
  public static String certificatesToPem(List<X509Certificate> certificates) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      for (X509Certificate c : certificates) {
        writer.writeObject(c);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** Unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY") text of {@code key}. */
  public static String privateKeyToPem(PrivateKey key) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(new JcaPKCS8Generator(key, null));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  public static void writeCertificates(Path file, List<X509Certificate> certificates) throws IOException {
    Files.writeString(file, certificatesToPem(certificates), StandardCharsets.US_ASCII);
  }

  /** Writes the key as PKCS#8 PEM; on POSIX file systems the file is readable by its owner only. */
  public static void writePrivateKey(Path file, PrivateKey key) throws IOException {
    Files.deleteIfExists(file);
    try {
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(file);
    }
    Files.writeString(file, privateKeyToPem(key), StandardCharsets.US_ASCII);
  }

  /** Reads every certificate of a PEM file, or the single certificate of a DER file. */
  public static List<X509Certificate> readCertificates(Path file) throws IOException {
    return parseCertificates(readLimited(file), file.toString());
  }

  /** Reads the first certificate of a PEM or DER file. */
  public static X509Certificate readCertificate(Path file) throws IOException {
    return readCertificates(file).get(0);
  }

  /** Parses PEM or DER certificate bytes; {@code source} names them in error messages. */
  public static List<X509Certificate> parseCertificates(byte[] bytes, String source) throws IOException {
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      if (looksLikePem(bytes)) {
        List<X509Certificate> result = new ArrayList<>();
        try (PEMParser parser = new PEMParser(new StringReader(new String(bytes, StandardCharsets.US_ASCII)))) {
          Object o;
          while ((o = parser.readObject()) != null) {
            if (o instanceof X509CertificateHolder holder) {
              result.add((X509Certificate) factory.generateCertificate(
                  new ByteArrayInputStream(holder.getEncoded())));
            }
          }
        } catch (IOException | RuntimeException e) {
          // BouncyCastle reports bad base64 or a broken block unchecked (DecoderException) or
          // without saying where: the bytes may come from another party, so name them
          throw new IOException(source + ": malformed PEM (" + e.getMessage() + ")", e);
        }
        if (result.isEmpty()) {
          throw new IOException(source + ": no CERTIFICATE block in PEM file");
        }
        return List.copyOf(result);
      }
      return List.of((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(bytes)));
    } catch (CertificateException e) {
      throw new IOException(source + ": not an X.509 certificate (" + e.getMessage() + ")", e);
    }
  }

  /** Reads an unencrypted PKCS#8 ("BEGIN PRIVATE KEY") PEM file. */
  public static PrivateKey readPrivateKey(Path file) throws IOException {
    byte[] bytes = readLimited(file);
    try (PEMParser parser = new PEMParser(new StringReader(new String(bytes, StandardCharsets.US_ASCII)))) {
      Object o = parser.readObject();
      if (!(o instanceof PrivateKeyInfo info)) {
        throw new IOException(file + ": expected an unencrypted PKCS#8 PEM private key (BEGIN PRIVATE KEY), found "
            + (o == null ? "nothing" : o.getClass().getSimpleName()));
      }
      return new JcaPEMKeyConverter().getPrivateKey(info);
    }
  }

  private static boolean looksLikePem(byte[] bytes) {
    String head = new String(bytes, 0, Math.min(bytes.length, 4096), StandardCharsets.US_ASCII);
    return head.contains("-----BEGIN ");
  }

  private static byte[] readLimited(Path file) throws IOException {
    long size = Files.size(file);
    if (size > MAX_FILE_BYTES) {
      throw new IOException(file + ": " + size + " bytes exceeds the " + MAX_FILE_BYTES + "-byte limit");
    }
    return Files.readAllBytes(file);
  }
}
