package org.cloister.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.enclave.runtime.ImageInventory;

/** How `enclave measure` and `infer measure` describe a measured image: size, classes and its third-party list. */
final class ImageReport {
  private ImageReport() {
  }

  /** The third-party artifacts as {@code group:artifact:version}, or null when the image carries no bill of materials. */
  static List<String> thirdParty(ImageInventory inventory) {
    return inventory.thirdParty().map(l -> l.stream().map(Object::toString).toList()).orElse(null);
  }

  /** The image's figures for JSON output, after any fields the caller put in {@code into}. */
  static Map<String, Object> json(ImageInventory inventory, Map<String, Object> into) {
    Map<String, Object> img = new LinkedHashMap<>(into);
    img.put("size_bytes", inventory.sizeBytes());
    img.put("classes", inventory.classCount());
    img.put("entries", inventory.entryCount());
    img.put("third_party", thirdParty(inventory)); // null: the image carries no bill of materials
    return img;
  }

  /** The third-party list as text, one artifact per line. */
  static void printThirdParty(PrintWriter out, ImageInventory inventory) {
    List<String> thirdParty = thirdParty(inventory);
    if (thirdParty == null) {
      out.println("third-party artifacts: unknown (the image carries no " + ImageInventory.SBOM_ENTRY + ")");
    } else {
      out.println("third-party artifacts (" + thirdParty.size() + ", from " + ImageInventory.SBOM_ENTRY + "):");
      thirdParty.forEach(a -> out.println("  " + a));
    }
  }
}
