package org.cloister.audit;

/**
 * The outcome of a one-run audit.
 *
 * @param canaries m, the number of canaries (each included with probability 1/2)
 * @param included how many were included
 * @param guesses r, the canaries the auditor guessed on (it abstained on the rest)
 * @param correct v, the correct guesses
 * @param guessedIn guesses of "included" (top scores); the others are "excluded" (bottom scores)
 * @param epsilonLowerBound with confidence {@code confidence}, the mechanism is not
 *     (epsilon, delta)-DP for any epsilon below this
 * @param confidence 1 - beta
 * @param delta the delta of the tested hypothesis
 * @param tprAtFpr1e3 true-positive rate of the score at false-positive rate 1e-3 (descriptive)
 * @param tprAtFpr1e2 true-positive rate at false-positive rate 1e-2 (descriptive)
 * @param auroc area under the ROC curve of the score (descriptive; 0.5 = no signal)
 */
public record AuditResult(int canaries, int included, int guesses, int correct, int guessedIn,
                          double epsilonLowerBound, double confidence, double delta,
                          double tprAtFpr1e3, double tprAtFpr1e2, double auroc) {
}
