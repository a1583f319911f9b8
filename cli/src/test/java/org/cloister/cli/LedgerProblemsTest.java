package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How {@code ledger verify} prints many problems: each distinct one, repeats of one reason counted. */
class LedgerProblemsTest {
  @Test
  void collapsingKeepsDistinctProblemsAndCountsRepeats() {
    java.util.List<String> problems = new java.util.ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      problems.add("entry " + i + " (site-1, round " + i + "): certificate not valid under the consortium CA");
    }
    problems.add("entry 6 (site-2, round 1): stored hash does not match its content (entry edited)");
    problems.add("a signed checkpoint covers 4 round records but only 3 remain (rounds removed)");
    assertThat(LedgerCommand.collapsed(problems)).containsExactly(
        problems.get(0), problems.get(1), problems.get(2), problems.get(5), problems.get(6),
        "... and 2 more entries with the same problem: certificate not valid under the consortium CA (all listed with --json)");
  }

  @Test
  void roundRecordsWithoutAVerifiedCheckpointAreCountedLikeEntries() {
    java.util.List<String> problems = new java.util.ArrayList<>();
    for (int i = 1; i <= 50; i++) {
      problems.add("round record " + i + " has no valid signed checkpoint of the ledger head (its checkpoint does not verify:"
          + " see above)");
    }
    assertThat(LedgerCommand.collapsed(problems)).hasSize(4).last().asString()
        .isEqualTo("... and 47 more round records with the same problem: has no valid signed checkpoint of the ledger head"
            + " (its checkpoint does not verify: see above) (all listed with --json)");
  }

  @Test
  void receiptsFailingForOneReasonAreCounted() {
    java.util.List<String> problems = new java.util.ArrayList<>();
    for (int i = 1; i <= 10; i++) {
      problems.add("study s round " + i + " (model version " + (i + 1) + "): its attestation does not verify (BAD_SIGNATURE)");
    }
    assertThat(LedgerCommand.collapsed(problems)).hasSize(4).last().asString()
        .startsWith("... and 7 more receipts with the same problem: its attestation does not verify (BAD_SIGNATURE)");
  }

  @Test
  void entriesDifferingOnlyInTimesAndSerialsCountAsOneReason() {
    java.util.List<String> problems = new java.util.ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      problems.add("entry " + i + " (site-" + i + ", round 1): signer certificate not valid under the consortium CA at "
          + "2026-12-04T21:0" + i + ":00Z: serial " + (1000 + i) + " unknown");
    }
    assertThat(LedgerCommand.collapsed(problems)).hasSize(4).last().asString()
        .startsWith("... and 1 more entries with the same problem: signer certificate not valid");
  }
}
