package org.cloister.enclave.runtime.tee;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Comparator;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * TEST DOUBLE of the Linux kernel's configfs-tsm, for development machines without confidential-VM hardware: a
 * tree in an ordinary directory whose {@code inblob} writes it answers like the kernel does, by filling
 * {@code outblob} with what the hardware double returns for that report data, and {@code provider} /
 * {@code generation}. {@link ConfigfsTsm} reads it exactly as it reads the kernel's tree, so the enclave's path
 * from report data to evidence is the production one; only the device behind the files is simulated.
 * Development only: the hardware double's evidence proves nothing about isolation.
 */
public final class SimulatedTsmKernel implements ConfigfsFiles {
  /** The hardware double: the raw report or quote for 64 bytes of report data. */
  @FunctionalInterface
  public interface Hardware {
    byte[] report(byte[] reportData) throws GeneralSecurityException;
  }

  private final String provider;
  private final Hardware hardware;
  private int generation;

  /** @param provider {@code tdx_guest} or {@code sev_guest}, as the kernel names its provider */
  public SimulatedTsmKernel(String provider, Hardware hardware) {
    if (!"tdx_guest".equals(provider) && !"sev_guest".equals(provider)) {
      throw new IllegalArgumentException("provider must be tdx_guest or sev_guest, got '" + provider + "'");
    }
    this.provider = provider;
    this.hardware = Objects.requireNonNull(hardware, "hardware");
  }

  @Override
  public void mkdir(Path dir) throws IOException {
    Files.createDirectory(dir);
    Files.write(dir.resolve("provider"), (provider + "\n").getBytes(StandardCharsets.US_ASCII));
    Files.write(dir.resolve("generation"), "0\n".getBytes(StandardCharsets.US_ASCII));
  }

  @Override
  public synchronized void write(Path file, byte[] content) throws IOException {
    if (!file.getFileName().toString().equals("inblob")) {
      throw new IOException("read-only attribute " + file);
    }
    if (content.length != 64) {
      throw new IOException("Invalid argument (inblob must be 64 bytes on " + provider + ")");
    }
    try {
      Files.write(file.getParent().resolve("outblob"), hardware.report(content));
    } catch (GeneralSecurityException e) {
      throw new IOException("the simulated " + provider + " hardware failed: " + e.getMessage(), e);
    }
    Files.write(file.getParent().resolve("generation"), (++generation + "\n").getBytes(StandardCharsets.US_ASCII));
  }

  @Override
  public byte[] read(Path file) throws IOException {
    return Files.exists(file) ? Files.readAllBytes(file) : null;
  }

  @Override
  public void rmdir(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
