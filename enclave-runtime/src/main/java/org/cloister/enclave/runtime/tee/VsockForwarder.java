package org.cloister.enclave.runtime.tee;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inside a Nitro enclave the only channel is vsock to the parent instance; the enclave's gRPC code speaks TCP. Two
 * byte-for-byte forwarders bridge them, like AWS's {@code vsock-proxy} does on the parent: {@link #inbound} accepts
 * vsock connections on a port and connects each to the enclave's own loopback server (the coordinator reaches
 * the enclave's gRPC service through the parent), {@link #outbound} accepts loopback TCP connections and
 * connects each to a vsock port of the parent (where {@code vsock-proxy} forwards to the key broker). The bytes
 * are TLS (broker) or sealed ciphertext (sites' updates); the forwarder reads none of them. Each connection runs
 * on its own two threads until either side closes.
 */
public final class VsockForwarder implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(VsockForwarder.class);
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "vsock-forwarder");
    t.setDaemon(true);
    return t;
  });
  private final Closeable listener;
  private final String description;

  private VsockForwarder(Closeable listener, String description) {
    this.listener = listener;
    this.description = description;
  }

  /** Forwards every connection to vsock {@code port} to the TCP server at {@code target} (loopback). */
  public static VsockForwarder inbound(StreamTransport vsock, int port, InetSocketAddress target) throws IOException {
    Objects.requireNonNull(target, "target");
    StreamTransport.Listener l = vsock.listen(port);
    VsockForwarder f = new VsockForwarder(l, "vsock port " + port + " -> " + target);
    f.threads.execute(() -> {
      while (true) {
        StreamTransport.Connection c;
        try {
          c = l.accept();
        } catch (IOException e) {
          return; // closed
        }
        Socket s = new Socket();
        try {
          s.connect(target);
        } catch (IOException e) {
          log.warn("{}: cannot reach the enclave's server: {}", f.description, e.getMessage());
          closeQuietly(c);
          closeQuietly(s);
          continue;
        }
        f.pump(c, s);
      }
    });
    return f;
  }

  /** Listens on loopback {@code localPort} (0: any) and forwards every connection to vsock {@code cid:port}. */
  public static VsockForwarder outbound(int localPort, StreamTransport vsock, int cid, int port) throws IOException {
    ServerSocket server = new ServerSocket(localPort, 64, InetAddress.getLoopbackAddress());
    VsockForwarder f = new VsockForwarder(server, "127.0.0.1:" + server.getLocalPort() + " -> vsock " + cid + ":"
        + port);
    f.localPort = server.getLocalPort();
    f.threads.execute(() -> {
      while (true) {
        Socket s;
        try {
          s = server.accept();
        } catch (IOException e) {
          return; // closed
        }
        StreamTransport.Connection c;
        try {
          c = vsock.connect(cid, port);
        } catch (IOException e) {
          log.warn("{}: cannot reach the parent: {}", f.description, e.getMessage());
          closeQuietly(s);
          continue;
        }
        f.pump(c, s);
      }
    });
    return f;
  }

  /**
   * An {@link #outbound} forwarder from the option value {@code LOCALPORT=CID:PORT} (e.g. {@code 8443=3:8443}).
   *
   * @throws IllegalArgumentException naming the malformed value
   */
  public static VsockForwarder outbound(String spec, StreamTransport vsock) throws IOException {
    String[] p = spec == null ? new String[0] : spec.split("[=:]", -1);
    try {
      if (p.length != 3) {
        throw new NumberFormatException();
      }
      return outbound(Integer.parseInt(p[0]), vsock, Integer.parseInt(p[1]), Integer.parseInt(p[2]));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--vsock-outbound must be LOCALPORT=CID:PORT (e.g. 8443=3:8443), got '"
          + spec + "'");
    }
  }

  private int localPort = -1;

  /** The loopback port an {@link #outbound} forwarder listens on. */
  public int localPort() {
    return localPort;
  }

  private void pump(StreamTransport.Connection c, Socket s) {
    Closeable both = () -> {
      closeQuietly(c);
      closeQuietly(s);
    };
    try {
      InputStream sin = s.getInputStream();
      OutputStream sout = s.getOutputStream();
      threads.execute(() -> copy(c.input(), sout, both));
      threads.execute(() -> copy(sin, c.output(), both));
    } catch (IOException e) {
      closeQuietly(both);
    }
  }

  private static void copy(InputStream in, OutputStream out, Closeable both) {
    byte[] buf = new byte[64 * 1024];
    try {
      for (int n; (n = in.read(buf)) >= 0; ) {
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // either side closed
    } finally {
      closeQuietly(both);
    }
  }

  private static void closeQuietly(Closeable c) {
    try {
      c.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() {
    closeQuietly(listener);
    threads.shutdownNow();
  }

  @Override
  public String toString() {
    return description;
  }
}
