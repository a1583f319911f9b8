package org.cloister.coordinator.service;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The site identity is the common name of the client certificate that the mTLS handshake
 * verified against the consortium CA. Headers are ignored.
 */
public final class CertificateIdentityResolver implements SiteIdentityResolver {
  private static final Pattern CN = Pattern.compile("(?:^|,)\\s*CN=([A-Za-z0-9._-]{1,64})\\s*(?:,|$)");

  @Override
  public Optional<String> resolve(Attributes transportAttributes, Metadata headers) {
    SSLSession session = transportAttributes.get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session == null) {
      return Optional.empty();
    }
    try {
      Certificate[] peer = session.getPeerCertificates();
      if (peer.length == 0 || !(peer[0] instanceof X509Certificate leaf)) {
        return Optional.empty();
      }
      Matcher m = CN.matcher(leaf.getSubjectX500Principal().getName());
      return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    } catch (SSLPeerUnverifiedException e) {
      return Optional.empty();
    }
  }
}
