package org.cloister.broker;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The key policies, one per key-encryption key, kept in a JSON file next to the keystore (policies
 * are not secret; they are what an auditor reads). Changes are written through atomically.
 * Thread-safe.
 */
public final class KeyPolicies {
  public static final String FORMAT = "cloister-key-policies/v1";

  record FileForm(@JsonProperty("format") String format, @JsonProperty("keys") List<KeyPolicy> keys) {
  }

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(SerializationFeature.INDENT_OUTPUT);

  private final Path file;
  private final Map<String, KeyPolicy> byKey = new TreeMap<>();

  private KeyPolicies(Path file, List<KeyPolicy> policies) {
    this.file = file;
    for (KeyPolicy p : policies) {
      if (byKey.put(p.keyId(), p) != null) {
        throw new IllegalArgumentException(file + ": key " + p.keyId() + " has two policies");
      }
    }
  }

  /** Creates an empty policy file (refuses to overwrite one). */
  public static KeyPolicies create(Path file) throws IOException {
    if (Files.exists(file)) {
      throw new IOException(file + " already exists; refusing to overwrite key policies");
    }
    KeyPolicies p = new KeyPolicies(file, List.of());
    p.save();
    return p;
  }

  public static KeyPolicies load(Path file) throws IOException {
    FileForm f;
    try {
      f = JSON.readValue(file.toFile(), FileForm.class);
    } catch (IOException e) {
      throw new IOException(file + ": key policies are not valid: " + e.getMessage(), e);
    }
    if (!FORMAT.equals(f.format())) {
      throw new IOException(file + ": format must be '" + FORMAT + "', got '" + f.format() + "'");
    }
    try {
      return new KeyPolicies(file, f.keys() == null ? List.of() : f.keys());
    } catch (IllegalArgumentException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  public synchronized Optional<KeyPolicy> get(String keyId) {
    return Optional.ofNullable(byKey.get(keyId));
  }

  public synchronized List<KeyPolicy> all() {
    return List.copyOf(byKey.values());
  }

  /** Adds or replaces a policy and writes the file. */
  public synchronized void put(KeyPolicy policy) throws IOException {
    KeyPolicy old = byKey.put(policy.keyId(), policy);
    try {
      save();
    } catch (IOException e) {
      if (old == null) {
        byKey.remove(policy.keyId());
      } else {
        byKey.put(old.keyId(), old);
      }
      throw e;
    }
  }

  private void save() throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = Files.createTempFile(dir, ".policies", ".tmp");
    try {
      JSON.writeValue(tmp.toFile(), new FileForm(FORMAT, new ArrayList<>(byKey.values())));
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
