package org.cloister.cli.service;

import org.cloister.cli.config.ConfigDir;
import org.cloister.cli.config.TlsSection;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.cloister.trust.pki.Pem;

/** A party's certificate chain, private key and the consortium CA, read from a {@code tls:} section. */
record TlsMaterial(List<X509Certificate> chain, PrivateKey key, X509Certificate trustRoot, Set<BigInteger> revokedSerials) {
  static TlsMaterial load(ConfigDir tls, TlsSection section) throws IOException {
    Path cert = tls.path(section.certificate());
    Path key = tls.path(section.privateKey());
    Path root = tls.path(section.trustRoot());
    List<X509Certificate> chain = Pem.readCertificates(cert);
    if (chain.isEmpty()) {
      throw tls.error("no certificate in " + cert);
    }
    try {
      chain.get(0).checkValidity();
    } catch (CertificateExpiredException e) {
      throw tls.error("certificate " + cert + " expired on " + chain.get(0).getNotAfter().toInstant());
    } catch (CertificateNotYetValidException e) {
      throw tls.error("certificate " + cert + " is not valid before " + chain.get(0).getNotBefore().toInstant());
    }
    Set<BigInteger> revoked = new HashSet<>();
    for (String s : section.revokedSerials()) {
      try {
        revoked.add(new BigInteger(s.replace(":", ""), 16));
      } catch (NumberFormatException e) {
        throw tls.error("'tls.revoked_serials' entry '" + s + "' is not a hex serial number");
      }
    }
    X509Certificate trustRoot = Pem.readCertificate(root);
    X509Certificate top = chain.get(chain.size() - 1);
    if (!top.equals(trustRoot)) {
      boolean issued = top.getIssuerX500Principal().equals(trustRoot.getSubjectX500Principal());
      if (issued) {
        try {
          top.verify(trustRoot.getPublicKey());
        } catch (java.security.GeneralSecurityException e) {
          issued = false;
        }
      }
      if (!issued) {
        // the other side would refuse it at the handshake, with less to go on: say it here, before any retry
        throw tls.error("certificate " + cert + " (" + chain.get(0).getSubjectX500Principal().getName()
            + ", issuer " + top.getIssuerX500Principal().getName() + ") is not issued by the consortium CA in "
            + root + " (" + trustRoot.getSubjectX500Principal().getName()
            + (top.getIssuerX500Principal().equals(trustRoot.getSubjectX500Principal())
                ? "; its issuer is another CA of the same name: its signature does not verify with this CA's key" : "")
            + "): a certificate of another "
            + "consortium is refused at the TLS handshake; use the certificate from this consortium's kit");
      }
    }
    return new TlsMaterial(chain, Pem.readPrivateKey(key), trustRoot, revoked);
  }
}
