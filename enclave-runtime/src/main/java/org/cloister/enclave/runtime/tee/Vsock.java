package org.cloister.enclave.runtime.tee;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * AF_VSOCK stream sockets through the C library (JNA): Java has no vsock support. Addresses are
 * {@code struct sockaddr_vm { u16 svm_family = AF_VSOCK (40); u16 reserved; u32 svm_port; u32 svm_cid;
 * u8 flags; u8 zero[3]; }} (16 bytes). Reads and writes are blocking system calls on the socket's descriptor.
 */
public final class Vsock implements StreamTransport {
  static final int AF_VSOCK = 40;
  static final int SOCK_STREAM = 1;
  static final int SOCK_CLOEXEC = 0x80000;
  static final int VMADDR_CID_ANY = -1;
  static final int SHUT_RDWR = 2;

  interface LibC extends Library {
    int socket(int domain, int type, int protocol) throws LastErrorException;

    int bind(int fd, Pointer address, int length) throws LastErrorException;

    int listen(int fd, int backlog) throws LastErrorException;

    int accept(int fd, Pointer address, Pointer length) throws LastErrorException;

    int connect(int fd, Pointer address, int length) throws LastErrorException;

    NativeLong read(int fd, byte[] buffer, NativeLong count) throws LastErrorException;

    NativeLong write(int fd, byte[] buffer, NativeLong count) throws LastErrorException;

    int shutdown(int fd, int how) throws LastErrorException;

    int poll(Pointer fds, NativeLong count, int timeoutMillis) throws LastErrorException;

    int close(int fd) throws LastErrorException;
  }

  private static final class Holder {
    static final LibC LIBC = (LibC) Native.loadLibrary("c", LibC.class);
  }

  static Memory address(int cid, int port) {
    Memory m = new Memory(16);
    m.clear();
    m.setShort(0, (short) AF_VSOCK);
    m.setInt(4, port);
    m.setInt(8, cid);
    return m;
  }

  private static int socket() throws IOException {
    try {
      return Holder.LIBC.socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    } catch (LastErrorException e) {
      throw new DeviceFile.IoctlException("cannot create an AF_VSOCK socket (no vsock in this kernel?)",
          e.getErrorCode());
    }
  }

  @Override
  public Listener listen(int port) throws IOException {
    int fd = socket();
    try {
      Holder.LIBC.bind(fd, address(VMADDR_CID_ANY, port), 16);
      Holder.LIBC.listen(fd, 64);
    } catch (LastErrorException e) {
      closeQuietly(fd);
      throw new DeviceFile.IoctlException("cannot listen on vsock port " + port, e.getErrorCode());
    }
    return new Listener() {
      private boolean closed;

      @Override
      public Connection accept() throws IOException {
        // a listening vsock socket is not woken by shutdown or close: wait in poll rounds, checking closed
        Memory pollfd = new Memory(8);
        while (true) {
          synchronized (this) {
            if (closed) {
              throw new IOException("vsock listener on port " + port + " is closed");
            }
            pollfd.setInt(0, fd);
            pollfd.setShort(4, (short) 1); // POLLIN
            pollfd.setShort(6, (short) 0);
          }
          try {
            if (Holder.LIBC.poll(pollfd, new NativeLong(1), 250) > 0) {
              synchronized (this) {
                if (closed) {
                  throw new IOException("vsock listener on port " + port + " is closed");
                }
                return new FdConnection(Holder.LIBC.accept(fd, null, null));
              }
            }
          } catch (LastErrorException e) {
            throw new DeviceFile.IoctlException("vsock accept failed", e.getErrorCode());
          }
        }
      }

      @Override
      public synchronized void close() {
        if (!closed) {
          closed = true;
          closeQuietly(fd);
        }
      }
    };
  }

  @Override
  public Connection connect(int cid, int port) throws IOException {
    int fd = socket();
    try {
      Holder.LIBC.connect(fd, address(cid, port), 16);
    } catch (LastErrorException e) {
      closeQuietly(fd);
      throw new DeviceFile.IoctlException("cannot connect to vsock " + cid + ":" + port, e.getErrorCode());
    }
    return new FdConnection(fd);
  }

  private static void closeQuietly(int fd) {
    try {
      Holder.LIBC.close(fd);
    } catch (LastErrorException ignored) {
      // already closed
    }
  }

  /** A connected socket's descriptor as streams. */
  private static final class FdConnection implements Connection {
    private final int fd;
    private volatile boolean closed;

    FdConnection(int fd) {
      this.fd = fd;
    }

    @Override
    public InputStream input() {
      return new InputStream() {
        @Override
        public int read() throws IOException {
          byte[] one = new byte[1];
          return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          if (len == 0) {
            return 0;
          }
          byte[] buf = off == 0 ? b : new byte[len];
          long n;
          try {
            n = Holder.LIBC.read(fd, buf, new NativeLong(len)).longValue();
          } catch (LastErrorException e) {
            throw new DeviceFile.IoctlException("vsock read failed", e.getErrorCode());
          }
          if (n <= 0) {
            return -1;
          }
          if (buf != b) {
            System.arraycopy(buf, 0, b, off, (int) n);
          }
          return (int) n;
        }
      };
    }

    @Override
    public OutputStream output() {
      return new OutputStream() {
        @Override
        public void write(int b) throws IOException {
          write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          byte[] rest = java.util.Arrays.copyOfRange(b, off, off + len);
          while (rest.length > 0) {
            long n;
            try {
              n = Holder.LIBC.write(fd, rest, new NativeLong(rest.length)).longValue();
            } catch (LastErrorException e) {
              throw new DeviceFile.IoctlException("vsock write failed", e.getErrorCode());
            }
            rest = java.util.Arrays.copyOfRange(rest, (int) n, rest.length);
          }
        }
      };
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        try {
          Holder.LIBC.shutdown(fd, SHUT_RDWR);
        } catch (LastErrorException ignored) {
          // peer gone
        }
        closeQuietly(fd);
      }
    }
  }
}
