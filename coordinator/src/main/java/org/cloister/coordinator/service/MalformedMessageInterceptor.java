package org.cloister.coordinator.service;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Answers a request whose bytes do not parse as the RPC's message with {@code INVALID_ARGUMENT}
 * naming the RPC, and counts it (reason {@code malformed}); without it gRPC would close the call
 * with a generic error that no metric sees. Runs over a service converted with
 * {@link io.grpc.ServerInterceptors#useInputStreamMessages}, so parsing happens in
 * {@code onMessage} here, before the service sees anything.
 */
final class MalformedMessageInterceptor implements ServerInterceptor {
  private final FederationService.RejectionCounter rejections;

  MalformedMessageInterceptor(FederationService.RejectionCounter rejections) {
    this.rejections = rejections;
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    String rpc = call.getMethodDescriptor().getBareMethodName();
    AtomicBoolean closed = new AtomicBoolean();
    ServerCall.Listener<Q> delegate = next.startCall(call, headers);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
      @Override
      public void onMessage(Q message) {
        if (closed.get()) {
          return;
        }
        try {
          super.onMessage(message);
        } catch (StatusRuntimeException e) {
          if (!(message instanceof InputStream) || e.getStatus().getCode() != Status.Code.INTERNAL) {
            throw e;
          }
          closed.set(true);
          rejections.count(rpc, "malformed");
          call.close(Status.INVALID_ARGUMENT.withDescription("malformed " + rpc + " request: the bytes are not a "
              + call.getMethodDescriptor().getFullMethodName() + " message (" + e.getStatus().getDescription() + ")"),
              new Metadata());
        }
      }

      @Override
      public void onHalfClose() {
        if (!closed.get()) {
          super.onHalfClose();
        }
      }
    };
  }
}
