package org.cloister.simulations;

/**
 * One virtual hospital: how many training examples it held, how many rounds it contributed to,
 * and the epsilon it spent (at {@code delta}; infinite for the non-private baseline), as its
 * accountant computes it from its own ledger.
 */
public record SiteReport(String id, int examples, int roundsContributed, double epsilon, double delta) {
}
