package org.cloister.models;

import java.util.List;

/**
 * Plug-in point for model architectures (docs/extending.md, "Add a model"): a provider lists
 * architectures, each under a unique {@link ModelArchitecture#name()}. Register an implementation
 * (public, no-argument constructor) in {@code META-INF/services/org.cloister.models.ArchitectureProvider};
 * {@link ModelArchitectures#installed()} finds it with {@link java.util.ServiceLoader}.
 *
 * <p>A study names its model ({@code model:} in scenario, coordinator and consortium files); every
 * party that builds the network (sites, the evaluator, the inference enclave) must have the same
 * provider on its class path, and the coordinator knows the model only by name and dimension.
 */
public interface ArchitectureProvider {
  List<ModelArchitecture> architectures();
}
