package org.cloister.enclave.runtime.tee;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.cloister.trust.attestation.snp.SimulatedSnpPlatform;

/**
 * TEST DOUBLE of the Linux kernel's configfs-tsm on an SEV-SNP guest: a tree in a temporary directory whose
 * {@code inblob} writes it answers, like the kernel, by filling {@code outblob} with a report signed by the
 * {@link SimulatedSnpPlatform} hardware double over that report data, {@code auxblob} with the certificate table
 * (VCEK, ASK), {@code provider} and a {@code generation} counter. {@link #racing} makes another writer touch the
 * entry between the reads.
 */
final class FakeConfigfsKernel implements ConfigfsFiles {
  private final SimulatedSnpPlatform snp;
  private final byte[] measurement;
  String provider = "sev_guest";
  boolean racing;
  private int generation;

  FakeConfigfsKernel(SimulatedSnpPlatform snp, byte[] measurement) {
    this.snp = snp;
    this.measurement = measurement.clone();
  }

  @Override
  public void mkdir(Path dir) throws IOException {
    Files.createDirectory(dir); // fails like the kernel's when the tree is absent
    Files.write(dir.resolve("provider"), (provider + "\n").getBytes(StandardCharsets.US_ASCII));
    Files.write(dir.resolve("generation"), "0\n".getBytes(StandardCharsets.US_ASCII));
  }

  @Override
  public void write(Path file, byte[] content) throws IOException {
    if (!file.getFileName().toString().equals("inblob")) {
      throw new IOException("read-only attribute " + file);
    }
    if (content.length != 64) {
      throw new IOException("Invalid argument (inblob must be 64 bytes on sev_guest)");
    }
    Path dir = file.getParent();
    try {
      Files.write(dir.resolve("outblob"), snp.report(content, measurement, SimulatedSnpPlatform.POLICY));
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException(e);
    }
    Files.write(dir.resolve("auxblob"), table(snp.chainDer()));
    Files.write(dir.resolve("generation"), (++generation + "\n").getBytes(StandardCharsets.US_ASCII));
  }

  @Override
  public byte[] read(Path file) throws IOException {
    byte[] b = Files.exists(file) ? Files.readAllBytes(file) : null;
    if (racing && file.getFileName().toString().equals("auxblob")) {
      Files.write(file.getParent().resolve("generation"), (++generation + "\n").getBytes(StandardCharsets.US_ASCII));
    }
    return b;
  }

  @Override
  public void rmdir(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** The GHCB certificate table: (GUID, offset, length) entries, an all-zero entry, then the certificates. */
  static byte[] table(List<byte[]> certs) {
    int header = 24 * (certs.size() + 1);
    int size = header + certs.stream().mapToInt(c -> c.length).sum();
    ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    int off = header;
    for (int i = 0; i < certs.size(); i++) {
      b.position(24 * i);
      b.put(new byte[16]); // GUIDs are not needed: the verifier recognises certificates by content
      b.put(24 * i, (byte) (i + 1));
      b.putInt(24 * i + 16, off);
      b.putInt(24 * i + 20, certs.get(i).length);
      b.put(off, certs.get(i));
      off += certs.get(i).length;
    }
    return b.array();
  }
}
