package org.cloister.broker;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;

/**
 * The key broker's key-encryption keys (AES-256) in a password-protected PKCS#12 keystore file
 * (PBES2 with HMAC-SHA256 and AES-256 in JDK 17), written owner-readable only. The keys never
 * leave the broker: only data keys wrapped with them, or unwrapped and sealed to an attested
 * enclave, do. Thread-safe.
 */
public final class BrokerKeystore {
  /** Key ids: lowercase (PKCS#12 aliases are case-insensitive), 1..128 characters. */
  public static final Pattern KEY_ID = Pattern.compile("[a-z0-9][a-z0-9/._-]{0,127}");

  private final Path file;
  private final char[] password;
  private final KeyStore store;
  private final SecureRandom random;

  private BrokerKeystore(Path file, char[] password, KeyStore store, SecureRandom random) {
    this.file = file;
    this.password = password.clone();
    this.store = store;
    this.random = random;
  }

  /** Creates an empty keystore file (refuses to overwrite one). */
  public static BrokerKeystore create(Path file, char[] password, SecureRandom random) throws IOException {
    if (Files.exists(file)) {
      throw new IOException(file + " already exists; refusing to overwrite a keystore");
    }
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      BrokerKeystore b = new BrokerKeystore(file, password, ks, random);
      b.save();
      return b;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot create PKCS#12 keystore: " + e.getMessage(), e);
    }
  }

  /** Opens an existing keystore; a wrong password or a damaged file is an error naming the file. */
  public static BrokerKeystore load(Path file, char[] password, SecureRandom random) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(in, password);
      return new BrokerKeystore(file, password, ks, random);
    } catch (GeneralSecurityException | IOException e) {
      throw new IOException(file + ": cannot open keystore (wrong password or damaged file): " + e.getMessage(), e);
    }
  }

  /** Generates a new AES-256 key-encryption key under {@code keyId} and saves the keystore. */
  public synchronized void createKey(String keyId) throws IOException {
    checkKeyId(keyId);
    try {
      if (store.containsAlias(keyId)) {
        throw new IOException("key " + keyId + " already exists");
      }
      KeyGenerator gen = KeyGenerator.getInstance("AES");
      gen.init(256, random);
      store.setEntry(keyId, new KeyStore.SecretKeyEntry(gen.generateKey()), new KeyStore.PasswordProtection(password));
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot create key " + keyId + ": " + e.getMessage(), e);
    }
    save();
  }

  /** Removes a key for good (cryptographic erasure of everything wrapped with it) and saves. */
  public synchronized boolean destroyKey(String keyId) throws IOException {
    try {
      if (!store.containsAlias(keyId)) {
        return false;
      }
      store.deleteEntry(keyId);
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot delete key " + keyId + ": " + e.getMessage(), e);
    }
    save();
    return true;
  }

  synchronized Optional<SecretKey> key(String keyId) {
    try {
      KeyStore.Entry e = store.getEntry(keyId, new KeyStore.PasswordProtection(password));
      return e instanceof KeyStore.SecretKeyEntry s ? Optional.of(s.getSecretKey()) : Optional.empty();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("keystore entry " + keyId + " cannot be read: " + e.getMessage(), e);
    }
  }

  public synchronized List<String> keyIds() {
    try {
      List<String> ids = new ArrayList<>(Collections.list(store.aliases()));
      Collections.sort(ids);
      return ids;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public static void checkKeyId(String keyId) {
    if (keyId == null || !KEY_ID.matcher(keyId).matches()) {
      throw new IllegalArgumentException("key id '" + keyId + "' must match " + KEY_ID.pattern());
    }
  }

  private void save() throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = Files.createTempFile(dir, ".keystore", ".tmp");
    try {
      try {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system
      }
      try (OutputStream out = Files.newOutputStream(tmp)) {
        store.store(out, password);
      } catch (GeneralSecurityException e) {
        throw new IOException("cannot write keystore: " + e.getMessage(), e);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  @Override
  public String toString() {
    return "BrokerKeystore[" + file + "]";
  }
}
