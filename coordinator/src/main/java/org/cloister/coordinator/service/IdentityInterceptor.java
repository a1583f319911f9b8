package org.cloister.coordinator.service;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Optional;

/** Rejects calls without an established identity and puts the identity into the gRPC context. */
final class IdentityInterceptor implements ServerInterceptor {
  private final SiteIdentityResolver resolver;

  IdentityInterceptor(SiteIdentityResolver resolver) {
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
    return Contexts.interceptCall(Context.current().withValue(SiteIdentity.SITE_ID, id.get()), call, headers, next);
  }
}
