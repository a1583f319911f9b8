package org.cloister.enclave.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.List;
import java.util.Optional;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * What an enclave image jar contains, for review of the trusted computing base: its size, its
 * class count (every {@code .class} entry, versioned ones included) and the third-party artifacts
 * it was built from, read from the bill of materials the build puts inside the image
 * ({@value #SBOM_ENTRY}: maven-dependency-plugin's sorted {@code list} of the resolved runtime
 * artifacts, one {@code group:artifact:type[:classifier]:version:scope} a line), so the list is
 * covered by PCR0 like the code it describes.
 */
public record ImageInventory(long sizeBytes, int classCount, int entryCount, Optional<List<Artifact>> thirdParty) {

  /** Where the build puts the image's bill of materials. */
  public static final String SBOM_ENTRY = "META-INF/sbom/dependencies.txt";

  /** A component of the image's bill of materials. */
  public record Artifact(String group, String name, String version) {
    @Override
    public String toString() {
      return group + ":" + name + ":" + version;
    }
  }

  public ImageInventory {
    thirdParty = thirdParty.map(List::copyOf);
  }

  /**
   * Reads the inventory of an image jar.
   *
   * @throws IOException if the file cannot be read, is not a jar, or carries a malformed bill of materials
   */
  public static ImageInventory of(Path image) throws IOException {
    long size = Files.size(image);
    int classes = 0;
    int entries = 0;
    List<Artifact> artifacts = null;
    try (ZipFile zip = new ZipFile(image.toFile())) {
      for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
        ZipEntry entry = e.nextElement();
        entries++;
        if (entry.getName().endsWith(".class")) {
          classes++;
        }
      }
      ZipEntry sbom = zip.getEntry(SBOM_ENTRY);
      if (sbom != null) {
        try (InputStream in = zip.getInputStream(sbom)) {
          artifacts = thirdParty(new String(in.readAllBytes(), StandardCharsets.UTF_8), image);
        }
      }
    } catch (ZipException e) {
      throw new IOException("enclave image " + image + " is not a jar: " + e.getMessage(), e);
    }
    return new ImageInventory(size, classes, entries, Optional.ofNullable(artifacts));
  }

  private static List<Artifact> thirdParty(String list, Path image) throws IOException {
    List<Artifact> out = new ArrayList<>();
    for (String raw : list.split("\n")) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("The following files have been resolved") || line.equals("none")) {
        continue;
      }
      int module = line.indexOf(" -- ");
      String coordinates = module < 0 ? line : line.substring(0, module);
      String[] f = coordinates.split(":");
      // group:artifact:type:version:scope or group:artifact:type:classifier:version:scope
      if ((f.length != 5 && f.length != 6) || java.util.Arrays.stream(f).anyMatch(String::isBlank)) {
        throw new IOException("enclave image " + image + ": " + SBOM_ENTRY + " has a line that is not "
            + "group:artifact:type[:classifier]:version:scope: " + line);
      }
      String version = f[f.length - 2];
      if (!f[0].equals("org.cloister")) {
        out.add(new Artifact(f[0], f.length == 6 ? f[1] + ":" + f[3] : f[1], version));
      }
    }
    if (out.isEmpty()) {
      throw new IOException("enclave image " + image + ": " + SBOM_ENTRY + " lists no third-party artifact");
    }
    out.sort(Comparator.comparing(Artifact::toString));
    return out;
  }
}
