package org.cloister.enclave.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
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
 * it was built from, read from the CycloneDX bill of materials the build puts inside the image
 * ({@value #SBOM_ENTRY}), so the list is covered by PCR0 like the code it describes.
 */
public record ImageInventory(long sizeBytes, int classCount, int entryCount, Optional<List<Artifact>> thirdParty) {

  /** Where the build puts the image's bill of materials. */
  public static final String SBOM_ENTRY = "META-INF/sbom/bom.json";

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
          artifacts = thirdParty(new ObjectMapper().readTree(in), image);
        }
      }
    } catch (ZipException e) {
      throw new IOException("enclave image " + image + " is not a jar: " + e.getMessage(), e);
    }
    return new ImageInventory(size, classes, entries, Optional.ofNullable(artifacts));
  }

  private static List<Artifact> thirdParty(JsonNode bom, Path image) throws IOException {
    JsonNode components = bom.get("components");
    if (!"CycloneDX".equals(bom.path("bomFormat").asText()) || components == null || !components.isArray()) {
      throw new IOException("enclave image " + image + ": " + SBOM_ENTRY + " is not a CycloneDX bill of materials "
          + "with a components array");
    }
    List<Artifact> out = new ArrayList<>();
    for (JsonNode c : components) {
      String group = c.path("group").asText("");
      String name = c.path("name").asText("");
      String version = c.path("version").asText("");
      if (name.isEmpty() || version.isEmpty()) {
        throw new IOException("enclave image " + image + ": a component of " + SBOM_ENTRY + " has no name or version: " + c);
      }
      if (!group.equals("org.cloister")) {
        out.add(new Artifact(group, name, version));
      }
    }
    out.sort(Comparator.comparing(Artifact::toString));
    return out;
  }
}
