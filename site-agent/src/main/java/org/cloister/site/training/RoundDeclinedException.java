package org.cloister.site.training;

/**
 * A site deliberately does not train a round, for a reason it states: its privacy budget has no
 * room, or the round asks for training the site does not accept (e.g. without DP). The site agent
 * sits such a round out; any other exception from a trainer is a bug and stops the agent.
 */
public class RoundDeclinedException extends IllegalStateException {
  public RoundDeclinedException(String reason) {
    super(reason);
  }
}
