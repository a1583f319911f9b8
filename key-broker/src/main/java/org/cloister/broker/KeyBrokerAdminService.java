package org.cloister.broker;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.Map;
import org.cloister.protocol.v1.KeyBrokerAdminGrpc;
import org.cloister.protocol.v1.KeyDescription;
import org.cloister.protocol.v1.KeyRequest;

/** Operator actions on keys, for holders of the admin bearer token. Every change is audited. */
final class KeyBrokerAdminService extends KeyBrokerAdminGrpc.KeyBrokerAdminImplBase {
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final KeyPolicies policies;
  private final AuditLog audit;

  KeyBrokerAdminService(KeyPolicies policies, AuditLog audit) {
    this.policies = policies;
    this.audit = audit;
  }

  /** Refuses calls without {@code authorization: Bearer <token>} (compared in constant time). */
  static ServerInterceptor bearer(byte[] token) {
    byte[] expected = token.clone();
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String h = headers.get(AUTHORIZATION);
        byte[] given = h != null && h.startsWith("Bearer ") ? h.substring(7).getBytes(StandardCharsets.US_ASCII) : new byte[0];
        if (expected.length == 0 || !MessageDigest.isEqual(expected, given)) {
          call.close(Status.UNAUTHENTICATED.withDescription("admin token missing or wrong"), new Metadata());
          return new ServerCall.Listener<>() {
          };
        }
        return next.startCall(call, headers);
      }
    };
  }

  @Override
  public void describeKey(KeyRequest req, StreamObserver<KeyDescription> out) {
    try {
      out.onNext(describe(find(req.getKeyId())));
      out.onCompleted();
    } catch (StatusRuntimeException e) {
      out.onError(e);
    }
  }

  @Override
  public void disableKey(KeyRequest req, StreamObserver<KeyDescription> out) {
    setEnabled(req.getKeyId(), false, out);
  }

  @Override
  public void enableKey(KeyRequest req, StreamObserver<KeyDescription> out) {
    setEnabled(req.getKeyId(), true, out);
  }

  private void setEnabled(String keyId, boolean enabled, StreamObserver<KeyDescription> out) {
    try {
      KeyPolicy p = find(keyId).withEnabled(enabled);
      policies.put(p);
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("operation", enabled ? "EnableKey" : "DisableKey");
      f.put("key_id", keyId);
      audit.record("admin", f);
      out.onNext(describe(p));
      out.onCompleted();
    } catch (StatusRuntimeException e) {
      out.onError(e);
    } catch (IOException e) {
      out.onError(Status.INTERNAL.withDescription("cannot save key policies: " + e.getMessage()).asRuntimeException());
    }
  }

  private KeyPolicy find(String keyId) {
    return policies.get(keyId).orElseThrow(() -> Status.NOT_FOUND.withDescription("no key '" + keyId + "'").asRuntimeException());
  }

  private static KeyDescription describe(KeyPolicy p) {
    KeyDescription.Builder b = KeyDescription.newBuilder().setKeyId(p.keyId()).setEnabled(p.enabled());
    if (p.expectedPcrs() != null) {
      b.putAllExpectedPcrs(p.expectedPcrs());
    } else {
      b.setPlatform(p.platform()).putAllExpectedMeasurements(p.expectedMeasurements());
    }
    return b.build();
  }
}
