package org.cloister.coordinator.ledger;

import org.cloister.protocol.v1.PrivacySpend;

/**
 * A verified privacy-ledger entry awaiting its place in the chain: the exact signed bytes, the
 * signature, the signer's certificate (DER) and the parsed content.
 */
public record LedgerRecord(String partyId, byte[] spendBytes, byte[] signature, byte[] signerCertificate, PrivacySpend spend) {
}
