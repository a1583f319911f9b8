package org.cloister.models;

import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The installed architectures by name: the built-ins and every {@link ArchitectureProvider} plug-in. */
public final class ModelArchitectures {
  private final Map<String, ModelArchitecture> byName;

  /** @throws IllegalArgumentException when two architectures share a name */
  public ModelArchitectures(Iterable<? extends ArchitectureProvider> providers) {
    Map<String, ModelArchitecture> m = new TreeMap<>();
    for (ArchitectureProvider p : providers) {
      for (ModelArchitecture a : p.architectures()) {
        ModelArchitecture prev = m.put(a.name(), a);
        if (prev != null) {
          throw new IllegalArgumentException("two model architectures are named '" + a.name() + "': "
              + prev.getClass().getName() + " and " + a.getClass().getName());
        }
      }
    }
    this.byName = Map.copyOf(m);
  }

  /** The providers registered with {@link ServiceLoader} on this class's loader. */
  public static ModelArchitectures installed() {
    return new ModelArchitectures(ServiceLoader.load(ArchitectureProvider.class, ModelArchitectures.class.getClassLoader()));
  }

  /** @throws IllegalArgumentException naming the unknown model and the installed ones */
  public ModelArchitecture byName(String name) {
    ModelArchitecture a = byName.get(name);
    if (a == null) {
      throw new IllegalArgumentException("unknown model '" + name + "' (expected one of " + names() + ")");
    }
    return a;
  }

  public List<String> names() {
    return List.copyOf(byName.keySet());
  }

  /** The built-in architectures: {@code logreg}, {@code mlp}, {@code cnn}, {@code skipmlp} (a graph). */
  public static final class BuiltIn implements ArchitectureProvider {
    @Override
    public List<ModelArchitecture> architectures() {
      return List.of(ModelZoo.logisticRegression(), ModelZoo.mlp(), ModelZoo.cnn(), ModelZoo.skipMlp(32));
    }
  }
}
