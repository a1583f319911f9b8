package org.cloister.enclave.runtime.tee;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The file operations {@link ConfigfsTsm} performs on the configfs-tsm tree: on a confidential VM the kernel
 * answers them ({@link #kernel()}); tests substitute a test double of the kernel over a temporary directory.
 */
public interface ConfigfsFiles {
  void mkdir(Path dir) throws IOException;

  void write(Path file, byte[] content) throws IOException;

  /** The file's content, or null when it does not exist. */
  byte[] read(Path file) throws IOException;

  void rmdir(Path dir) throws IOException;

  /** The real kernel interface: plain file operations on configfs. */
  static ConfigfsFiles kernel() {
    return new ConfigfsFiles() {
      @Override
      public void mkdir(Path dir) throws IOException {
        Files.createDirectory(dir);
      }

      @Override
      public void write(Path file, byte[] content) throws IOException {
        Files.write(file, content);
      }

      @Override
      public byte[] read(Path file) throws IOException {
        return Files.exists(file) ? Files.readAllBytes(file) : null;
      }

      @Override
      public void rmdir(Path dir) throws IOException {
        Files.delete(dir); // configfs removes the entry's attribute files with the directory
      }
    };
  }
}
