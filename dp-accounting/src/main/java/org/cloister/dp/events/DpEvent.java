package org.cloister.dp.events;

/**
 * A differentially private mechanism described as plain, immutable data (after Google's
 * dp_accounting). Accountants interpret events; events know nothing of accountants.
 */
public sealed interface DpEvent permits GaussianEvent, LaplaceEvent, PoissonSampledEvent,
    SampledWithoutReplacementEvent, SelfComposedEvent, ComposedEvent, NoOpEvent, NonPrivateEvent {
}
