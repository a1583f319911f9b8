package org.cloister.site.ledger;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The identity of a dataset for privacy budgeting: SHA-256 over the site's identity and the name
 * of its data source (the name the site's configuration declares, else the source's absolute
 * path). It names the source, not its content: patients added to the file keep spending the same
 * budget as those already in it, where a content hash would start every edited file from zero.
 * Only this fingerprint leaves the site, never the data or the path.
 */
public final class DatasetFingerprint {
  private DatasetFingerprint() {
  }

  /** The fingerprint of the data source {@code sourceName} at {@code siteId} ({@code "ds-"} and 64 hex digits). */
  public static String of(String siteId, String sourceName) {
    if (siteId == null || siteId.isBlank() || sourceName == null || sourceName.isBlank()) {
      throw new IllegalArgumentException("a dataset fingerprint needs a site id and a data source name");
    }
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(("cloister-dataset-v1\0" + siteId + "\0" + sourceName).getBytes(StandardCharsets.UTF_8));
      return "ds-" + HexFormat.of().formatHex(d.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The fingerprint of a file data source: its absolute, normalized path names it. */
  public static String of(String siteId, Path source) {
    return of(siteId, source.toAbsolutePath().normalize().toString());
  }
}
