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

  /** Server side: requires a client certificate from {@code trustRoot} that is not revoked. */
  public static ServerCredentials serverCredentials(List<X509Certificate> chain, PrivateKey key, X509Certificate trustRoot,
                                                    Set<BigInteger> revokedSerials) {
    try {
      return TlsServerCredentials.newBuilder()
          .keyManager(keyManagers(chain, key))
          .trustManager(new RevocationCheckingTrustManager(pkix(trustRoot), Set.copyOf(revokedSerials)))
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
          .keyManager(keyManagers(chain, key))
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

  /** Delegates chain validation, then refuses revoked client certificates. */
  private static final class RevocationCheckingTrustManager extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;
    private final Set<BigInteger> revoked;

    RevocationCheckingTrustManager(X509ExtendedTrustManager delegate, Set<BigInteger> revoked) {
      this.delegate = delegate;
      this.revoked = revoked;
    }

    private void checkRevoked(X509Certificate[] chain) throws CertificateException {
      for (X509Certificate c : chain) {
        if (revoked.contains(c.getSerialNumber())) {
          throw new CertificateException("certificate " + c.getSubjectX500Principal().getName() + " (serial "
              + c.getSerialNumber().toString(16) + ") is revoked");
        }
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      delegate.checkClientTrusted(chain, authType, socket);
      checkRevoked(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      delegate.checkClientTrusted(chain, authType, engine);
      checkRevoked(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      delegate.checkClientTrusted(chain, authType);
      checkRevoked(chain);
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
