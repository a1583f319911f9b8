package org.cloister.coordinator.service;

import io.grpc.Context;
import java.security.cert.X509Certificate;

/** The calling site's identity, established by the transport and carried in the gRPC context. */
public final class SiteIdentity {
  static final Context.Key<String> SITE_ID = Context.key("cloister-site-id");
  static final Context.Key<X509Certificate> CERTIFICATE = Context.key("cloister-site-certificate");

  private SiteIdentity() {
  }

  /** The identity of the caller of the current gRPC request, or null when none was established. */
  public static String current() {
    return SITE_ID.get();
  }

  /** The caller's verified client certificate under mTLS, or null (development transport). */
  public static X509Certificate certificate() {
    return CERTIFICATE.get();
  }
}
