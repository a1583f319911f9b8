package org.cloister.simulations;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.cloister.protocol.tls.MutualTls;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;

/**
 * A throw-away consortium PKI for one simulated study: a CA, a server certificate for the
 * coordinator on loopback, and a client certificate per party. Keys live only in memory.
 */
public final class ConsortiumCredentials {
  private final CertificateAuthority ca;
  private final IssuedCertificate server;
  private final Instant notBefore;
  private final Instant notAfter;

  private ConsortiumCredentials(CertificateAuthority ca, IssuedCertificate server, Instant notBefore, Instant notAfter) {
    this.ca = ca;
    this.server = server;
    this.notBefore = notBefore;
    this.notAfter = notAfter;
  }

  public static ConsortiumCredentials ephemeral(String consortium, Duration validity) {
    Instant nb = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).minusSeconds(60);
    Instant na = nb.plus(validity);
    CertificateAuthority ca = CertificateAuthority.createRoot(consortium + " simulation CA", EcCurve.P256, nb, na, new SecureRandom());
    IssuedCertificate server = ca.issueServer("coordinator", List.of("localhost"), List.of("127.0.0.1"), nb, na);
    return new ConsortiumCredentials(ca, server, nb, na);
  }

  public ServerCredentials serverCredentials() {
    return MutualTls.serverCredentials(server.chain(), server.privateKey(), ca.certificate(), Set.of());
  }

  /** A new party certificate (and key) whose common name is {@code identity}. */
  public IssuedCertificate issue(String identity) {
    return ca.issueClient(identity, notBefore, notAfter);
  }

  /** Client credentials presenting {@code party}'s certificate. */
  public ChannelCredentials clientCredentials(IssuedCertificate party) {
    return MutualTls.channelCredentials(party.chain(), party.privateKey(), ca.certificate());
  }

  /** The consortium CA (it issues the members' certificates; the enclave's configuration pins it). */
  public CertificateAuthority ca() {
    return ca;
  }

  public java.security.cert.X509Certificate caCertificate() {
    return ca.certificate();
  }
}
