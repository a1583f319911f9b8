package org.cloister.trust.attestation;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CRLException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.openssl.PEMParser;

/**
 * What an offline verifier needs besides the pinned vendor roots, recognised by content, never by file name:
 * X.509 certificates (PEM or DER), CRLs (PEM or DER), and Intel PCS v4 TCB info / QE identity JSON kept as
 * the exact bytes served (their signatures cover the raw text of the inner object).
 */
public final class Collateral {
  /** Far above any real collateral item (TCB info is a few KiB). */
  public static final long MAX_FILE_BYTES = 1 << 20;

  /** Certificates only (e.g. a VCEK and its ASK), no CRLs or Intel PCS documents. */
  public static Collateral ofCertificates(List<X509Certificate> certificates) {
    return new Collateral(certificates, List.of(), List.of(), List.of());
  }

  /** A PCS JSON document as served, with where it came from. */
  public record RawJson(String source, String text) {
    public RawJson {
      Objects.requireNonNull(source, "source");
      Objects.requireNonNull(text, "text");
    }
  }

  private final List<X509Certificate> certificates;
  private final List<X509CRL> crls;
  private final List<RawJson> tcbInfos;
  private final List<RawJson> qeIdentities;

  public Collateral(List<X509Certificate> certificates, List<X509CRL> crls, List<RawJson> tcbInfos,
      List<RawJson> qeIdentities) {
    this.certificates = List.copyOf(certificates);
    this.crls = List.copyOf(crls);
    this.tcbInfos = List.copyOf(tcbInfos);
    this.qeIdentities = List.copyOf(qeIdentities);
  }

  public static Collateral empty() {
    return new Collateral(List.of(), List.of(), List.of(), List.of());
  }

  /**
   * Reads every regular file of {@code dir} (not recursing).
   *
   * @throws IOException naming the file when one is unreadable or none of the recognised kinds
   */
  public static Collateral readDirectory(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new IOException("collateral directory " + dir + " does not exist or is not a directory");
    }
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    List<X509Certificate> certs = new ArrayList<>();
    List<X509CRL> crls = new ArrayList<>();
    List<RawJson> tcb = new ArrayList<>();
    List<RawJson> qe = new ArrayList<>();
    for (Path f : files) {
      long size = Files.size(f);
      if (size > MAX_FILE_BYTES) {
        throw new IOException("collateral file " + f + " is " + size + " bytes, more than any collateral item");
      }
      classify(Files.readAllBytes(f), f.toString(), certs, crls, tcb, qe);
    }
    return new Collateral(certs, crls, tcb, qe);
  }

  static void classify(byte[] bytes, String source, List<X509Certificate> certs, List<X509CRL> crls,
      List<RawJson> tcb, List<RawJson> qe) throws IOException {
    String text = new String(bytes, StandardCharsets.UTF_8);
    String trimmed = text.strip();
    if (trimmed.startsWith("{")) {
      if (trimmed.contains("\"tcbInfo\"")) {
        tcb.add(new RawJson(source, text));
      } else if (trimmed.contains("\"enclaveIdentity\"")) {
        qe.add(new RawJson(source, text));
      } else {
        throw new IOException("collateral file " + source
            + " is JSON but neither PCS TCB info ({\"tcbInfo\":...}) nor QE identity ({\"enclaveIdentity\":...})");
      }
      return;
    }
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      if (trimmed.startsWith("-----BEGIN")) {
        int found = 0;
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
          Object o;
          while ((o = parser.readObject()) != null) {
            if (o instanceof X509CertificateHolder h) {
              certs.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(h.getEncoded())));
              found++;
            } else if (o instanceof X509CRLHolder h) {
              crls.add((X509CRL) factory.generateCRL(new ByteArrayInputStream(h.getEncoded())));
              found++;
            }
          }
        }
        if (found == 0) {
          throw new IOException("collateral file " + source + " is PEM without a CERTIFICATE or X509 CRL block");
        }
        return;
      }
      try {
        certs.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(bytes)));
        return;
      } catch (CertificateException notCert) {
        try {
          crls.add((X509CRL) factory.generateCRL(new ByteArrayInputStream(bytes)));
          return;
        } catch (CRLException notCrl) {
          // fall through
        }
      }
    } catch (CertificateException | CRLException | RuntimeException e) {
      throw new IOException("collateral file " + source + " cannot be parsed: " + e.getMessage(), e);
    }
    throw new IOException("collateral file " + source
        + " is none of: X.509 certificate (PEM/DER), CRL (PEM/DER), PCS TCB info or QE identity JSON");
  }

  public List<X509Certificate> certificates() {
    return certificates;
  }

  public List<X509CRL> crls() {
    return crls;
  }

  public List<RawJson> tcbInfos() {
    return tcbInfos;
  }

  public List<RawJson> qeIdentities() {
    return qeIdentities;
  }

  public Optional<RawJson> tcbInfo() {
    return tcbInfos.stream().findFirst();
  }

  @Override
  public String toString() {
    return "Collateral[certificates=" + certificates.size() + ", crls=" + crls.size() + ", tcbInfo="
        + tcbInfos.size() + ", qeIdentity=" + qeIdentities.size() + "]";
  }
}
