package org.cloister.coordinator.strategy;

import java.util.List;
import org.cloister.protocol.v1.TrainingConfig;

/** The sites asked to train in a round and the configuration they train with. */
public record RoundPlan(List<String> sites, TrainingConfig config) {
  public RoundPlan {
    sites = List.copyOf(sites);
  }
}
