package org.cloister.trust.pki;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A small certificate authority on an EC curve: a self-signed root or an intermediate, issuing
 * intermediates, TLS server/client certificates and signing certificates with explicit validity
 * windows. Used for the consortium's mTLS material and by the development attestation authority.
 */
public final class CertificateAuthority {
  private final X509Certificate certificate;
  private final PrivateKey privateKey;
  private final List<X509Certificate> chain;
  private final EcCurve curve;
  private final SecureRandom random;

  private CertificateAuthority(X509Certificate certificate, PrivateKey privateKey, List<X509Certificate> chain,
      EcCurve curve, SecureRandom random) {
    this.certificate = certificate;
    this.privateKey = privateKey;
    this.chain = List.copyOf(chain);
    this.curve = curve;
    this.random = random;
  }

  /** Creates a self-signed root CA with a fresh key on {@code curve}, valid from notBefore to notAfter. */
  public static CertificateAuthority createRoot(String commonName, EcCurve curve, Instant notBefore,
      Instant notAfter, SecureRandom random) {
    KeyPair keys = generateKeyPair(curve, random);
    X500Principal subject = principal(commonName);
    X509Certificate cert = build(subject, keys.getPublic(), subject, keys.getPublic(), keys.getPrivate(),
        curve, notBefore, notAfter, random, Profile.CA, null, List.of(), List.of());
    return new CertificateAuthority(cert, keys.getPrivate(), List.of(cert), curve, random);
  }

  /** Re-creates a CA from its certificate chain (CA certificate first, root last) and private key. */
  public static CertificateAuthority fromExisting(List<X509Certificate> chain, PrivateKey privateKey,
      SecureRandom random) {
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("CA certificate chain is empty");
    }
    X509Certificate cert = chain.get(0);
    if (cert.getBasicConstraints() < 0) {
      throw new IllegalArgumentException("certificate " + cert.getSubjectX500Principal() + " is not a CA");
    }
    return new CertificateAuthority(cert, privateKey, chain, curveOf(cert.getPublicKey()), random);
  }

  /** Reads a CA from a PEM certificate chain file and a PKCS#8 PEM key file. */
  public static CertificateAuthority readPem(Path certificateFile, Path privateKeyFile, SecureRandom random)
      throws IOException {
    return fromExisting(Pem.readCertificates(certificateFile), Pem.readPrivateKey(privateKeyFile), random);
  }

  /** Writes this CA's chain (PEM) and private key (PKCS#8 PEM, owner-readable only). */
  public void writePem(Path certificateFile, Path privateKeyFile) throws IOException {
    Pem.writeCertificates(certificateFile, chain);
    Pem.writePrivateKey(privateKeyFile, privateKey);
  }

  public X509Certificate certificate() {
    return certificate;
  }

  /** This CA's certificate followed by its issuers up to the root. */
  public List<X509Certificate> chain() {
    return chain;
  }

  public EcCurve curve() {
    return curve;
  }

  /** Issues a subordinate CA with a fresh key on the same curve (path length 0: it issues only end entities). */
  public CertificateAuthority issueIntermediate(String commonName, Instant notBefore, Instant notAfter) {
    KeyPair keys = generateKeyPair(curve, random);
    X509Certificate cert = issue(principal(commonName), keys.getPublic(), notBefore, notAfter, Profile.INTERMEDIATE,
        null, List.of(), List.of());
    return new CertificateAuthority(cert, keys.getPrivate(), prepend(cert), curve, random);
  }

  /** Issues a TLS server certificate (serverAuth) with DNS and IP subject alternative names. */
  public IssuedCertificate issueServer(String commonName, List<String> dnsNames, List<String> ipAddresses,
      Instant notBefore, Instant notAfter) {
    if (dnsNames.isEmpty() && ipAddresses.isEmpty()) {
      throw new IllegalArgumentException("a server certificate needs at least one DNS name or IP address");
    }
    return issueEndEntity(commonName, notBefore, notAfter, Profile.TLS, KeyPurposeId.id_kp_serverAuth,
        dnsNames, ipAddresses);
  }

  /** Issues a TLS client certificate (clientAuth). */
  public IssuedCertificate issueClient(String commonName, Instant notBefore, Instant notAfter) {
    return issueEndEntity(commonName, notBefore, notAfter, Profile.TLS, KeyPurposeId.id_kp_clientAuth,
        List.of(), List.of());
  }

  /** Issues a certificate for a key that only signs data (digitalSignature, no extended key usage). */
  public IssuedCertificate issueSigning(String commonName, Instant notBefore, Instant notAfter) {
    return issueEndEntity(commonName, notBefore, notAfter, Profile.SIGNING, null, List.of(), List.of());
  }

  private IssuedCertificate issueEndEntity(String commonName, Instant notBefore, Instant notAfter, Profile profile,
      KeyPurposeId purpose, List<String> dnsNames, List<String> ipAddresses) {
    KeyPair keys = generateKeyPair(curve, random);
    X509Certificate cert = issue(principal(commonName), keys.getPublic(), notBefore, notAfter, profile, purpose,
        dnsNames, ipAddresses);
    return new IssuedCertificate(cert, keys.getPrivate(), prepend(cert));
  }

  private X509Certificate issue(X500Principal subject, PublicKey subjectKey, Instant notBefore, Instant notAfter,
      Profile profile, KeyPurposeId purpose, List<String> dnsNames, List<String> ipAddresses) {
    Instant caNotBefore = certificate.getNotBefore().toInstant();
    Instant caNotAfter = certificate.getNotAfter().toInstant();
    if (notBefore.isBefore(caNotBefore) || notAfter.isAfter(caNotAfter)) {
      throw new IllegalArgumentException("validity " + notBefore + ".." + notAfter
          + " must lie within the issuing CA's validity " + caNotBefore + ".." + caNotAfter);
    }
    return build(subject, subjectKey, certificate.getSubjectX500Principal(), certificate.getPublicKey(), privateKey,
        curve, notBefore, notAfter, random, profile, purpose, dnsNames, ipAddresses);
  }

  private List<X509Certificate> prepend(X509Certificate cert) {
    List<X509Certificate> result = new ArrayList<>(chain.size() + 1);
    result.add(cert);
    result.addAll(chain);
    return result;
  }

  private enum Profile { CA, INTERMEDIATE, TLS, SIGNING }

  private static X509Certificate build(X500Principal subject, PublicKey subjectKey, X500Principal issuer,
      PublicKey issuerKey, PrivateKey issuerPrivateKey, EcCurve curve, Instant notBefore, Instant notAfter,
      SecureRandom random, Profile profile, KeyPurposeId purpose, List<String> dnsNames, List<String> ipAddresses) {
    Objects.requireNonNull(notBefore, "notBefore");
    Objects.requireNonNull(notAfter, "notAfter");
    if (!notAfter.isAfter(notBefore)) {
      throw new IllegalArgumentException("notAfter " + notAfter + " must be after notBefore " + notBefore);
    }
    try {
      BigInteger serial = new BigInteger(127, random).add(BigInteger.ONE);
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer, serial, Date.from(notBefore),
          Date.from(notAfter), subject, subjectKey);
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(subjectKey));
      builder.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuerKey));
      switch (profile) {
        case CA -> {
          builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
          builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        }
        case INTERMEDIATE -> {
          builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
          builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        }
        case TLS, SIGNING -> {
          builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
          builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
          if (purpose != null) {
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
          }
        }
        default -> throw new IllegalStateException(profile.name());
      }
      List<GeneralName> names = new ArrayList<>();
      for (String dns : dnsNames) {
        names.add(new GeneralName(GeneralName.dNSName, dns));
      }
      for (String ip : ipAddresses) {
        names.add(new GeneralName(GeneralName.iPAddress, ipLiteral(ip)));
      }
      if (!names.isEmpty()) {
        builder.addExtension(Extension.subjectAlternativeName, false,
            new GeneralNames(names.toArray(GeneralName[]::new)));
      }
      var signer = new JcaContentSignerBuilder(curve.signatureAlgorithm()).build(issuerPrivateKey);
      return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    } catch (CertIOException | OperatorCreationException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build certificate for " + subject + ": " + e.getMessage(), e);
    }
  }

  private static String ipLiteral(String ip) {
    // Only literals: never resolve names here.
    if (!ip.matches("[0-9.]+") && !ip.contains(":")) {
      throw new IllegalArgumentException("not an IP address literal: " + ip);
    }
    try {
      return InetAddress.getByName(ip).getHostAddress();
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException("not an IP address literal: " + ip, e);
    }
  }

  private static X500Principal principal(String commonName) {
    if (commonName == null || commonName.isBlank()) {
      throw new IllegalArgumentException("common name must not be blank");
    }
    return new X500Principal("CN=" + commonName.replace("\\", "\\\\").replace(",", "\\,")
        .replace("+", "\\+").replace("=", "\\=").replace("\"", "\\\""));
  }

  /** A fresh EC key pair on {@code curve}. */
  public static KeyPair generateKeyPair(EcCurve curve, SecureRandom random) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec(curve.jcaName()), random);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("EC key generation unavailable for " + curve, e);
    }
  }

  private static EcCurve curveOf(PublicKey key) {
    if (key instanceof ECPublicKey ec) {
      int bits = ec.getParams().getCurve().getField().getFieldSize();
      if (bits == 256) {
        return EcCurve.P256;
      }
      if (bits == 384) {
        return EcCurve.P384;
      }
    }
    throw new IllegalArgumentException("CA key must be EC P-256 or P-384, got " + key.getAlgorithm());
  }
}
