package org.cloister.enclave.runtime.tee;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * Evidence from a Linux confidential VM through configfs-tsm ({@code /sys/kernel/config/tsm/report}, Linux 6.7+),
 * which serves both SEV-SNP ({@code provider} {@code sev_guest}) and TDX ({@code tdx_guest}): make an entry
 * directory, write the 64 bytes of report data to {@code inblob}, read {@code outblob} (the raw SNP report or TDX
 * quote) and {@code auxblob} (SNP: the host-provided certificate table with the VCEK/VLEK, ASK, ARK), check that
 * {@code generation} did not move in between (another writer on the same entry), remove the entry.
 */
public final class ConfigfsTsm implements ReportDevice {
  /** Where the kernel mounts the report interface. */
  public static final Path DEFAULT_ROOT = Path.of("/sys/kernel/config/tsm/report");
  /** Far above any report or quote with its certificates. */
  static final int MAX_BLOB = 1 << 20;

  /** What the kernel returned. */
  public record Report(String platform, byte[] evidence, List<byte[]> certificates) {
  }

  private final Path root;
  private final ConfigfsFiles files;
  private final SecureRandom random;

  public ConfigfsTsm(Path root, ConfigfsFiles files, SecureRandom random) {
    this.root = Objects.requireNonNull(root, "root");
    this.files = Objects.requireNonNull(files, "files");
    this.random = Objects.requireNonNull(random, "random");
  }

  /**
   * @param reportData exactly 64 bytes (the {@code ReportDataBinding} of the verifier's nonce, key and user data)
   * @throws IOException naming the step that failed (no configfs-tsm here, an unknown provider, a race)
   */
  @Override
  public Report report(byte[] reportData) throws IOException {
    if (reportData == null || reportData.length != 64) {
      throw new IllegalArgumentException("configfs-tsm report data must be 64 bytes");
    }
    byte[] id = new byte[8];
    random.nextBytes(id);
    Path entry = root.resolve("cloister-" + HexFormat.of().formatHex(id));
    try {
      files.mkdir(entry);
    } catch (IOException e) {
      throw new IOException("cannot create a configfs-tsm report entry under " + root + " (is this a confidential "
          + "VM with Linux 6.7+ and configfs mounted?): " + e.getMessage(), e);
    }
    try {
      files.write(entry.resolve("inblob"), reportData);
      String generation = text(entry, "generation");
      byte[] out = files.read(entry.resolve("outblob"));
      if (out == null || out.length == 0 || out.length > MAX_BLOB) {
        throw new IOException("configfs-tsm entry " + entry + " returned no report in outblob");
      }
      byte[] aux = files.read(entry.resolve("auxblob"));
      String provider = text(entry, "provider");
      if (generation != null && !generation.equals(text(entry, "generation"))) {
        throw new IOException("configfs-tsm entry " + entry + " was written by another process while reading the "
            + "report (generation changed): retry");
      }
      String platform = switch (provider == null ? "" : provider) {
        case "sev_guest" -> "sev-snp";
        case "tdx_guest" -> "tdx";
        default -> throw new IOException("configfs-tsm provider '" + provider + "' is neither sev_guest nor tdx_guest");
      };
      List<byte[]> certs = platform.equals("sev-snp") && aux != null && aux.length > 0 ? snpCertificateTable(aux)
          : List.of();
      return new Report(platform, out, certs);
    } finally {
      files.rmdir(entry);
    }
  }

  private String text(Path entry, String name) throws IOException {
    byte[] b = files.read(entry.resolve(name));
    return b == null ? null : new String(b, StandardCharsets.US_ASCII).strip();
  }

  /**
   * The certificates of an SNP certificate table (the GHCB extended-report format the kernel returns in
   * {@code auxblob}): entries of a 16-byte GUID, a little-endian u32 offset and u32 length, ended by an all-zero
   * entry; offsets are from the table's start. Every certificate is returned (the verifier recognises them by
   * content and chains them to the pinned ARK).
   */
  static List<byte[]> snpCertificateTable(byte[] table) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(table).order(ByteOrder.LITTLE_ENDIAN);
    List<byte[]> out = new ArrayList<>();
    for (int at = 0; ; at += 24) {
      if (at + 24 > table.length) {
        throw new IOException("SNP certificate table is not terminated by an all-zero entry");
      }
      boolean zero = true;
      for (int i = 0; i < 24; i++) {
        zero &= table[at + i] == 0;
      }
      if (zero) {
        return out;
      }
      long off = Integer.toUnsignedLong(b.getInt(at + 16));
      long len = Integer.toUnsignedLong(b.getInt(at + 20));
      if (len == 0 || off < 24 || off + len > table.length) {
        throw new IOException("SNP certificate table entry " + (at / 24) + " points outside the table");
      }
      byte[] cert = new byte[(int) len];
      System.arraycopy(table, (int) off, cert, 0, (int) len);
      out.add(cert);
    }
  }
}
