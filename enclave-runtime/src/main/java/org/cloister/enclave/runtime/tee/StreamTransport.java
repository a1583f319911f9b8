package org.cloister.enclave.runtime.tee;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Stream sockets addressed by (context id, port): AF_VSOCK between a Nitro enclave and its parent instance
 * ({@link Vsock}). {@link VsockForwarder} bridges them to the loopback TCP the enclave's gRPC code speaks; tests
 * give it a test double of this interface over loopback TCP.
 */
public interface StreamTransport {
  /** The parent instance's context id, as seen from a Nitro enclave. */
  int PARENT_CID = 3;

  /** One connection. Closing it closes both directions. */
  interface Connection extends Closeable {
    InputStream input();

    OutputStream output();
  }

  /** A listening socket. Closing it makes a blocked {@link #accept} fail. */
  interface Listener extends Closeable {
    Connection accept() throws IOException;
  }

  /** Listens on {@code port} of every local context id. */
  Listener listen(int port) throws IOException;

  Connection connect(int cid, int port) throws IOException;
}
