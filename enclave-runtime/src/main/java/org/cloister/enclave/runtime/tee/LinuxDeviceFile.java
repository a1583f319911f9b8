package org.cloister.enclave.runtime.tee;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Path;

/** {@link DeviceFile} on Linux: {@code open(2)}, {@code ioctl(2)}, {@code close(2)} of the C library via JNA. */
final class LinuxDeviceFile implements DeviceFile {
  private static final int O_RDWR = 2;
  private static final int O_CLOEXEC = 0x80000;

  /** The three C library calls used. */
  interface LibC extends Library {
    int open(String path, int flags) throws LastErrorException;

    int ioctl(int fd, NativeLong request, Pointer argument) throws LastErrorException;

    int close(int fd) throws LastErrorException;
  }

  private static final class Holder {
    static final LibC LIBC = (LibC) Native.loadLibrary("c", LibC.class);
  }

  private final Path path;
  private final int fd;
  private boolean closed;

  private LinuxDeviceFile(Path path, int fd) {
    this.path = path;
    this.fd = fd;
  }

  static DeviceFile open(Path device) throws IOException {
    try {
      return new LinuxDeviceFile(device, Holder.LIBC.open(device.toString(), O_RDWR | O_CLOEXEC));
    } catch (LastErrorException e) {
      throw new DeviceFile.IoctlException("cannot open " + device, e.getErrorCode());
    } catch (UnsatisfiedLinkError e) {
      throw new IOException("cannot load the C library to open " + device + ": " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized void ioctl(long request, Pointer argument) throws IOException {
    if (closed) {
      throw new IOException(path + " is closed");
    }
    try {
      Holder.LIBC.ioctl(fd, new NativeLong(request), argument);
    } catch (LastErrorException e) {
      throw new DeviceFile.IoctlException("ioctl 0x" + Long.toHexString(request) + " on " + path + " failed",
          e.getErrorCode());
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (!closed) {
      closed = true;
      try {
        Holder.LIBC.close(fd);
      } catch (LastErrorException e) {
        throw new DeviceFile.IoctlException("cannot close " + path, e.getErrorCode());
      }
    }
  }
}
