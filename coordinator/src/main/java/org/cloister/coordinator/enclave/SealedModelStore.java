package org.cloister.coordinator.enclave;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
      write(dir(artifact.getStudyId(), artifact.getVersion()).resolve("model.bin"), artifact); // streamed, no 4 MB copy
    }
  }

  public void putCopy(SealedModelCopy copy) {
    copies.put(key(copy.getStudyId(), copy.getVersion(), copy.getMemberId()), copy);
    if (directory != null) {
      write(dir(copy.getStudyId(), copy.getVersion()).resolve(safe(copy.getMemberId()) + ".sealed"), copy);
    }
  }

  /**
   * A member's copy of a published version: from memory, or from the directory (what a restarted
   * coordinator stored before it stopped).
   */
  public Optional<SealedModelCopy> copy(String studyId, long version, String memberId) {
    SealedModelCopy c = copies.get(key(studyId, version, memberId));
    if (c != null || directory == null || !SAFE.matcher(studyId).matches() || !SAFE.matcher(memberId).matches()) {
      return Optional.ofNullable(c);
    }
    Path file = dir(studyId, version).resolve(memberId + ".sealed");
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    try {
      SealedModelCopy read = SealedModelCopy.parseFrom(Files.readAllBytes(file));
      copies.putIfAbsent(key(studyId, version, memberId), read);
      return Optional.of(read);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
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

  private static void write(Path file, com.google.protobuf.MessageLite message) {
    try {
      Files.createDirectories(file.getParent());
      // atomically: a coordinator killed while writing leaves the previous file or none, never half of one
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      try (java.io.OutputStream out = Files.newOutputStream(tmp)) {
        message.writeTo(out);
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot store " + file + ": " + e.getMessage(), e);
    }
  }
}
