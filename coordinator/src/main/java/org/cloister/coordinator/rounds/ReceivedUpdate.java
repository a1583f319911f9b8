package org.cloister.coordinator.rounds;

import org.cloister.protocol.v1.UpdateEnvelope;

/** An update the coordinator accepted for a round, with the site identity the transport established. */
public record ReceivedUpdate(String siteId, UpdateEnvelope envelope) {
}
