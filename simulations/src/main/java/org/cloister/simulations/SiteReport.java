package org.cloister.simulations;

/** One virtual hospital: how many training examples it held and how many rounds it contributed to. */
public record SiteReport(String id, int examples, int roundsContributed) {
}
