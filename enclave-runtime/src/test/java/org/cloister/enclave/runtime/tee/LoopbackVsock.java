package org.cloister.enclave.runtime.tee;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * TEST DOUBLE of AF_VSOCK (no vsock transport between an enclave and a parent exists here): vsock ports are
 * loopback TCP listeners, one per port, in one process; the context id is recorded, not routed.
 */
final class LoopbackVsock implements StreamTransport {
  private final Map<Integer, Integer> tcpPortOf = new ConcurrentHashMap<>();
  volatile int lastCid = -1;

  @Override
  public Listener listen(int port) throws IOException {
    ServerSocket s = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
    tcpPortOf.put(port, s.getLocalPort());
    return new Listener() {
      @Override
      public Connection accept() throws IOException {
        return wrap(s.accept());
      }

      @Override
      public void close() throws IOException {
        s.close();
      }
    };
  }

  @Override
  public Connection connect(int cid, int port) throws IOException {
    lastCid = cid;
    Integer tcp = tcpPortOf.get(port);
    if (tcp == null) {
      throw new IOException("Connection reset by peer (nothing listens on vsock port " + port + ")");
    }
    return wrap(new Socket(InetAddress.getLoopbackAddress(), tcp));
  }

  private static Connection wrap(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    OutputStream out = s.getOutputStream();
    return new Connection() {
      @Override
      public InputStream input() {
        return in;
      }

      @Override
      public OutputStream output() {
        return out;
      }

      @Override
      public void close() throws IOException {
        s.close();
      }
    };
  }
}
