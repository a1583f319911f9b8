package org.cloister.site.training;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.deeplearning4j.nn.conf.layers.Layer;

/**
 * The per-layer gradient rules a DP-SGD trainer may use beyond the built-in ones: an immutable
 * registry of {@link GradientRuleFactory} by layer class. {@link #installed()} holds those
 * registered with {@link ServiceLoader}; {@link #with} adds one for a trainer.
 */
public final class GradientRules {
  private final Map<Class<? extends Layer>, GradientRuleFactory> byLayer;

  private GradientRules(Map<Class<? extends Layer>, GradientRuleFactory> byLayer) {
    this.byLayer = Map.copyOf(byLayer);
  }

  /** No plug-in rules: the built-ins only. */
  public static GradientRules builtInOnly() {
    return new GradientRules(Map.of());
  }

  /** The rules registered with {@link ServiceLoader} on this class's loader. */
  public static GradientRules installed() {
    GradientRules r = builtInOnly();
    for (GradientRuleFactory f : ServiceLoader.load(GradientRuleFactory.class, GradientRules.class.getClassLoader())) {
      r = r.with(f);
    }
    return r;
  }

  /**
   * These rules and {@code factory}.
   *
   * @throws IllegalArgumentException when its layer already has a rule (a built-in or a plug-in)
   */
  public GradientRules with(GradientRuleFactory factory) {
    Class<? extends Layer> type = factory.layerType();
    if (DpCompatibility.BUILT_IN.contains(type)) {
      throw new IllegalArgumentException("layer " + type.getSimpleName() + " has a built-in gradient rule; "
          + factory.getClass().getName() + " cannot replace it");
    }
    if (byLayer.containsKey(type)) {
      throw new IllegalArgumentException("two gradient rules for layer " + type.getSimpleName() + ": "
          + byLayer.get(type).getClass().getName() + " and " + factory.getClass().getName());
    }
    Map<Class<? extends Layer>, GradientRuleFactory> m = new LinkedHashMap<>(byLayer);
    m.put(type, factory);
    return new GradientRules(m);
  }

  /** The plug-in rule for {@code layerClass}, or null. */
  GradientRuleFactory forLayer(Class<?> layerClass) {
    return byLayer.get(layerClass);
  }

  /** The layer classes with plug-in rules, by simple name. */
  public List<String> layers() {
    return byLayer.keySet().stream().map(Class::getSimpleName).sorted().toList();
  }
}
