package org.cloister.data;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;

/**
 * What a study fixes about its data before any record is read: the feature columns (in model
 * input order), the label column and the class labels (in class-index order). A site's file is
 * checked against it; the model's shape follows from it and never from local data.
 */
public record StudySchema(List<String> features, String label, List<String> classes) {
  public StudySchema {
    features = List.copyOf(features);
    classes = List.copyOf(classes);
    Objects.requireNonNull(label, "label");
    if (features.isEmpty()) {
      throw new IllegalArgumentException("a study needs at least one feature");
    }
    if (classes.size() < 2) {
      throw new IllegalArgumentException("a study needs at least two classes, got " + classes);
    }
    if (new HashSet<>(features).size() != features.size()) {
      throw new IllegalArgumentException("duplicate feature names in " + features);
    }
    if (new HashSet<>(classes.stream().map(ClassLabels::normalise).toList()).size() != classes.size()) {
      throw new IllegalArgumentException("duplicate class labels in " + classes + " (labels compare as "
          + "ClassLabels does: trimmed, numbers as numbers)");
    }
    if (features.contains(label)) {
      throw new IllegalArgumentException("the label column '" + label + "' is also listed as a feature");
    }
  }

  /** The class index of {@code label} compared as {@link ClassLabels} does ("1.0" is class "1"), or -1. */
  public int classIndex(String label) {
    String n = ClassLabels.normalise(label);
    for (int i = 0; i < classes.size(); i++) {
      if (ClassLabels.normalise(classes.get(i)).equals(n)) {
        return i;
      }
    }
    return -1;
  }
}
