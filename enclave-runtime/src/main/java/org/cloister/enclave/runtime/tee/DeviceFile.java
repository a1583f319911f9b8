package org.cloister.enclave.runtime.tee;

import com.sun.jna.Pointer;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * An open character device and the one system call Cloister makes on it, {@code ioctl(fd, request, argument)}:
 * the boundary between our code (which lays out the kernel's structures in native memory and reads the answer
 * back) and the device. On a confidential VM or in a Nitro enclave {@link #open} opens the real device through
 * the C library (JNA); tests substitute a test double of the device that reads and writes the same native
 * structures, so everything on our side of the call is what production runs.
 */
public interface DeviceFile extends Closeable {

  /**
   * @param request  the ioctl request number ({@code _IOWR(type, nr, size)})
   * @param argument the request structure in native memory; the device fills in its answer
   * @throws IoctlException carrying {@code errno} when the call returns -1
   */
  void ioctl(long request, Pointer argument) throws IOException;

  /** The ioctl request number {@code _IOWR(type, nr, size)} of Linux's {@code asm-generic/ioctl.h}. */
  static long iowr(int type, int nr, int size) {
    return (3L << 30) | ((long) size << 16) | ((long) type << 8) | nr;
  }

  /**
   * Opens {@code device} read-write through the C library.
   *
   * @throws IOException naming the device and errno (absent, no permission)
   */
  static DeviceFile open(Path device) throws IOException {
    return LinuxDeviceFile.open(device);
  }

  /** Opens the device for one request (the file is closed after each). */
  @FunctionalInterface
  interface Opener {
    DeviceFile open() throws IOException;
  }

  /** An ioctl that returned -1, with the errno it set. */
  final class IoctlException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int errno;

    public IoctlException(String message, int errno) {
      super(message + " (errno " + errno + ")");
      this.errno = errno;
    }

    public int errno() {
      return errno;
    }
  }
}
