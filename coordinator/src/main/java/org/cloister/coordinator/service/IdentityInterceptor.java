package org.cloister.coordinator.service;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Optional;

/** Rejects calls without an established identity and puts the identity into the gRPC context ({@link SiteIdentity}). */
public final class IdentityInterceptor implements ServerInterceptor {
  private final SiteIdentityResolver resolver;

  public IdentityInterceptor(SiteIdentityResolver resolver) {
    this.resolver = resolver;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Optional<String> id = resolver.resolve(call.getAttributes(), headers);
    if (id.isEmpty()) {
      call.close(Status.UNAUTHENTICATED.withDescription("no site identity established by the transport"), new Metadata());
      return new ServerCall.Listener<>() {
      };
    }
    Context ctx = Context.current().withValue(SiteIdentity.SITE_ID, id.get());
    javax.net.ssl.SSLSession session = call.getAttributes().get(io.grpc.Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session != null) {
      try {
        if (session.getPeerCertificates()[0] instanceof java.security.cert.X509Certificate leaf) {
          ctx = ctx.withValue(SiteIdentity.CERTIFICATE, leaf);
        }
      } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
        // no client certificate: identity came from elsewhere (development transport)
      }
    }
    return Contexts.interceptCall(ctx, call, headers, next);
  }
}
