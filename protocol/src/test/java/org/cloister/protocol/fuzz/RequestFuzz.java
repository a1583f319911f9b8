package org.cloister.protocol.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.util.Arrays;

/**
 * The harness the request and receipt fuzz tests share (coordinator, enclave, key broker, receipt
 * verifier): structure-aware inputs, gRPC's parsing of a request's bytes, and the rule a handler is
 * held to, whatever the bytes: it answers with a value or refuses with a status, never INTERNAL or
 * UNKNOWN (an exception escaping). The fuzz tests' saved inputs replay through {@link #mutate}, so
 * its use of the fuzzer's bytes must not change.
 */
public final class RequestFuzz {
  private RequestFuzz() {
  }

  /** Raw fuzzer bytes (up to 4 KiB), or {@code valid} with up to 8 edits (overwrites, truncation, inserted runs). */
  public static byte[] mutate(FuzzedDataProvider d, byte[] valid) {
    if (!d.consumeBoolean()) {
      return d.consumeBytes(d.consumeInt(0, 4096));
    }
    byte[] out = valid.clone();
    for (int i = d.consumeInt(1, 8); i > 0 && d.remainingBytes() > 0; i--) {
      switch (d.consumeInt(0, 2)) {
        case 0 -> {
          if (out.length > 0) {
            out[d.consumeInt(0, out.length - 1)] = d.consumeByte();
          }
        }
        case 1 -> out = Arrays.copyOf(out, d.consumeInt(0, out.length));
        default -> {
          int at = d.consumeInt(0, out.length);
          byte[] run = d.consumeBytes(d.consumeInt(0, 64));
          byte[] next = new byte[out.length + run.length];
          System.arraycopy(out, 0, next, 0, at);
          System.arraycopy(run, 0, next, at, run.length);
          System.arraycopy(out, at, next, at + run.length, out.length - at);
          out = next;
        }
      }
    }
    return out;
  }

  /**
   * {@code bytes} parsed as gRPC parses a request (the method's marshaller), or {@code null} when gRPC
   * refuses them before any handler is called.
   */
  public static <Q> Q parse(MethodDescriptor<Q, ?> method, byte[] bytes) {
    try {
      return method.parseRequest(new ByteArrayInputStream(bytes));
    } catch (StatusRuntimeException malformed) {
      return null;
    }
  }

  /** What a handler answered: a value, or an error (fields volatile: a handler may answer on another thread). */
  public static final class Answer<T> implements StreamObserver<T> {
    private volatile T value;
    private volatile Throwable error;
    private volatile boolean completed;

    /** This answer as an observer of another type (a table of handlers with different response types). */
    @SuppressWarnings("unchecked")
    public <U> StreamObserver<U> as() {
      return (StreamObserver<U>) (StreamObserver<?>) this;
    }

    public T value() {
      return value;
    }

    public Throwable error() {
      return error;
    }

    @Override
    public void onNext(T v) {
      value = v;
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onCompleted() {
      completed = true;
    }

    /** Fails unless {@code rpc} answered with a value and completed, or refused with a status other than INTERNAL or UNKNOWN. */
    public void check(String rpc) {
      if (error != null) {
        Status s = Status.fromThrowable(error);
        if (s.getCode() == Status.Code.INTERNAL || s.getCode() == Status.Code.UNKNOWN) {
          throw new AssertionError(rpc + " answered " + s, error);
        }
      } else if (!completed || value == null) {
        throw new AssertionError(rpc + " neither answered nor refused");
      }
    }
  }
}
