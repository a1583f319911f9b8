package org.cloister.protocol.tls;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import java.math.BigInteger;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * gRPC credentials for mutual TLS inside a consortium: both sides present certificates issued by
 * the consortium CA and trust only that CA. Expired or unknown certificates fail the handshake
 * (PKIX validation); so do revoked ones (by serial number).
 */
public final class MutualTls {
  private MutualTls() {
  }

  /** Told of every client certificate refused at the handshake: who presented it and why it was refused. */
  @FunctionalInterface
  public interface RefusalListener {
    /**
     * @param subject the presented certificate's subject, serial and issuer (as the client claims them: unverified)
     * @param reason  why it was refused: expired, not yet valid, revoked, or not issued by the consortium's CA
     */
    void refused(String subject, String reason);
  }

  /** Server side: requires a client certificate from {@code trustRoot} that is not revoked. */
  public static ServerCredentials serverCredentials(List<X509Certificate> chain, PrivateKey key, X509Certificate trustRoot,
                                                    Set<BigInteger> revokedSerials) {
    return serverCredentials(chain, key, trustRoot, revokedSerials, (subject, reason) -> { });
  }

  /**
   * Server side: requires a client certificate from {@code trustRoot} that is not revoked, and tells
   * {@code refusals} of every certificate it refuses.
   */
  public static ServerCredentials serverCredentials(List<X509Certificate> chain, PrivateKey key, X509Certificate trustRoot,
                                                    Set<BigInteger> revokedSerials, RefusalListener refusals) {
    try {
      return TlsServerCredentials.newBuilder()
          .keyManager(keyManagers(chain, key))
          .trustManager(new RevocationCheckingTrustManager(pkix(trustRoot), Set.copyOf(revokedSerials), refusals))
          .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
          .build();
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot build TLS server credentials: " + e.getMessage(), e);
    }
  }

  /** Client side: presents {@code chain} and trusts only servers certified by {@code trustRoot}. */
  public static ChannelCredentials channelCredentials(List<X509Certificate> chain, PrivateKey key, X509Certificate trustRoot) {
    try {
      return TlsChannelCredentials.newBuilder()
          .keyManager(new AlwaysPresentKeyManager((javax.net.ssl.X509ExtendedKeyManager) keyManagers(chain, key)[0]))
          .trustManager(pkix(trustRoot))
          .build();
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot build TLS channel credentials: " + e.getMessage(), e);
    }
  }

  private static KeyManager[] keyManagers(List<X509Certificate> chain, PrivateKey key) throws GeneralSecurityException {
    char[] pw = new char[0];
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try {
      ks.load(null, null);
    } catch (java.io.IOException e) {
      throw new GeneralSecurityException(e);
    }
    ks.setKeyEntry("key", key, pw, chain.toArray(new X509Certificate[0]));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, pw);
    return kmf.getKeyManagers();
  }

  private static X509ExtendedTrustManager pkix(X509Certificate root) throws GeneralSecurityException {
    KeyStore ts = KeyStore.getInstance("PKCS12");
    try {
      ts.load(null, null);
    } catch (java.io.IOException e) {
      throw new GeneralSecurityException(e);
    }
    ts.setCertificateEntry("consortium-ca", root);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ts);
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X509 trust manager available");
  }

  /**
   * The TLS handshake failure behind a failed call, in words (e.g. "Received fatal alert: certificate_unknown",
   * "PKIX path building failed: ..."), or null when the call did not fail at the handshake.
   */
  public static String handshakeFailure(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLException) {
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
          root = root.getCause();
        }
        return root != t && root.getMessage() != null && !m.contains(root.getMessage()) ? m + " (" + root.getMessage() + ")" : m;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }

  /** Why {@code chain}'s leaf was refused, in words an operator can act on. */
  static String refusalReason(X509Certificate[] chain, X509Certificate trustRoot, CertificateException e) {
    if (chain == null || chain.length == 0) {
      return "no certificate presented";
    }
    X509Certificate leaf = chain[0];
    java.util.Date now = new java.util.Date();
    if (now.after(leaf.getNotAfter())) {
      return "certificate expired on " + leaf.getNotAfter().toInstant();
    }
    if (now.before(leaf.getNotBefore())) {
      return "certificate not valid before " + leaf.getNotBefore().toInstant();
    }
    if (e.getMessage() != null && e.getMessage().contains(" is revoked")) {
      return "certificate revoked (serial " + leaf.getSerialNumber().toString(16) + " is on the revocation list)";
    }
    if (!leaf.getIssuerX500Principal().equals(trustRoot.getSubjectX500Principal()) && chain.length == 1) {
      return "not issued by this consortium's CA (" + trustRoot.getSubjectX500Principal().getName() + "): issuer "
          + leaf.getIssuerX500Principal().getName();
    }
    return "not issued by this consortium's CA (" + trustRoot.getSubjectX500Principal().getName() + "): "
        + e.getMessage();
  }

  /**
   * The client presents its one certificate whatever issuers the server lists: a server of another consortium
   * (or one whose CA was replaced) then sees who tried and can say why it refused, instead of an empty handshake.
   */
  private static final class AlwaysPresentKeyManager extends javax.net.ssl.X509ExtendedKeyManager {
    private final javax.net.ssl.X509ExtendedKeyManager delegate;

    AlwaysPresentKeyManager(javax.net.ssl.X509ExtendedKeyManager delegate) {
      this.delegate = delegate;
    }

    @Override
    public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
      return delegate.getClientAliases(keyType, null);
    }

    @Override
    public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, Socket socket) {
      return delegate.chooseClientAlias(keyType, null, socket);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, java.security.Principal[] issuers, SSLEngine engine) {
      return delegate.chooseEngineClientAlias(keyType, null, engine);
    }

    @Override
    public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
      return delegate.getServerAliases(keyType, issuers);
    }

    @Override
    public String chooseServerAlias(String keyType, java.security.Principal[] issuers, Socket socket) {
      return delegate.chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return delegate.getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return delegate.getPrivateKey(alias);
    }
  }

  /** Delegates chain validation, then refuses revoked client certificates; reports every refusal. */
  private static final class RevocationCheckingTrustManager extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;
    private final Set<BigInteger> revoked;
    private final RefusalListener refusals;

    RevocationCheckingTrustManager(X509ExtendedTrustManager delegate, Set<BigInteger> revoked, RefusalListener refusals) {
      this.delegate = delegate;
      this.revoked = revoked;
      this.refusals = refusals;
    }

    private void checkRevoked(X509Certificate[] chain) throws CertificateException {
      for (X509Certificate c : chain) {
        if (revoked.contains(c.getSerialNumber())) {
          throw new CertificateException("certificate " + c.getSubjectX500Principal().getName() + " (serial "
              + c.getSerialNumber().toString(16) + ") is revoked");
        }
      }
    }

    @FunctionalInterface
    private interface Check {
      void run() throws CertificateException;
    }

    private void checked(X509Certificate[] chain, Check pkixCheck) throws CertificateException {
      try {
        pkixCheck.run();
        checkRevoked(chain);
      } catch (CertificateException e) {
        X509Certificate root = delegate.getAcceptedIssuers().length > 0 ? delegate.getAcceptedIssuers()[0] : null;
        String who = chain == null || chain.length == 0 ? "(none)" : chain[0].getSubjectX500Principal().getName()
            + " (serial " + chain[0].getSerialNumber().toString(16) + ", issuer "
            + chain[0].getIssuerX500Principal().getName() + ")";
        try {
          refusals.refused(who, root == null ? e.getMessage() : refusalReason(chain, root, e));
        } catch (RuntimeException ignored) {
          // a listener's failure never turns a refusal into an acceptance
        }
        throw e;
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      checked(chain, () -> delegate.checkClientTrusted(chain, authType, socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      checked(chain, () -> delegate.checkClientTrusted(chain, authType, engine));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      checked(chain, () -> delegate.checkClientTrusted(chain, authType));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      delegate.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      delegate.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      delegate.checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }
  }
}
