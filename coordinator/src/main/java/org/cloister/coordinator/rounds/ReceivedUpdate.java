package org.cloister.coordinator.rounds;

import org.cloister.coordinator.ledger.LedgerRecord;
import org.cloister.protocol.v1.UpdateEnvelope;

/**
 * An update the coordinator accepted for a round, with the site identity the transport
 * established and, when the study keeps a privacy ledger, the verified signed spend (else null).
 */
public record ReceivedUpdate(String siteId, UpdateEnvelope envelope, LedgerRecord ledger) {
}
