package org.cloister.coordinator.enclave;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.SealedModelCopy;

/**
 * What the coordinator keeps of each published model: the encrypted artifact and the copies sealed
 * to each member — ciphertext it cannot read. In memory, and written to a directory when one is
 * given ({@code STUDY/vVERSION/model.bin} and {@code STUDY/vVERSION/MEMBER.sealed}).
 */
public final class SealedModelStore {
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  private final Path directory;
  private final Map<String, SealedModelCopy> copies = new ConcurrentHashMap<>();

  /** @param directory where to persist, or null for memory only */
  public SealedModelStore(Path directory) {
    this.directory = directory;
  }

  public void putArtifact(ModelArtifact artifact) {
    if (directory != null) {
      write(dir(artifact.getStudyId(), artifact.getVersion()).resolve("model.bin"), artifact.toByteArray());
    }
  }

  public void putCopy(SealedModelCopy copy) {
    copies.put(key(copy.getStudyId(), copy.getVersion(), copy.getMemberId()), copy);
    if (directory != null) {
      write(dir(copy.getStudyId(), copy.getVersion()).resolve(safe(copy.getMemberId()) + ".sealed"), copy.toByteArray());
    }
  }

  public Optional<SealedModelCopy> copy(String studyId, long version, String memberId) {
    return Optional.ofNullable(copies.get(key(studyId, version, memberId)));
  }

  private Path dir(String study, long version) {
    return directory.resolve(safe(study)).resolve("v" + version);
  }

  private static String key(String study, long version, String member) {
    return study + "\u0000" + version + "\u0000" + member;
  }

  private static String safe(String s) {
    if (!SAFE.matcher(s).matches()) {
      throw new IllegalArgumentException("identifier '" + s + "' is not safe as a file name");
    }
    return s;
  }

  private static void write(Path file, byte[] bytes) {
    try {
      Files.createDirectories(file.getParent());
      Files.write(file, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot store " + file + ": " + e.getMessage(), e);
    }
  }
}
