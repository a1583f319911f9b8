package org.cloister.protocol;

import io.grpc.Metadata;

/** gRPC metadata keys shared by clients and servers. */
public final class Headers {
  /**
   * Development-only site identity header, honoured only by coordinators explicitly started in
   * insecure development mode. Under mTLS the identity is the client certificate.
   */
  public static final Metadata.Key<String> DEV_SITE_ID = Metadata.Key.of("x-cloister-site", Metadata.ASCII_STRING_MARSHALLER);

  private Headers() {
  }
}
