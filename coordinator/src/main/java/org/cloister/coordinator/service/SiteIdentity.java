package org.cloister.coordinator.service;

import io.grpc.Context;

/** The calling site's identity, established by the transport and carried in the gRPC context. */
public final class SiteIdentity {
  static final Context.Key<String> SITE_ID = Context.key("cloister-site-id");

  private SiteIdentity() {
  }

  /** The identity of the caller of the current gRPC request, or null when none was established. */
  public static String current() {
    return SITE_ID.get();
  }
}
