package org.cloister.coordinator.service;

import io.grpc.Attributes;
import io.grpc.Metadata;
import java.util.Optional;

/**
 * Establishes who is calling. Under mTLS the identity is the client certificate's subject; a
 * message field is never trusted for it.
 */
public interface SiteIdentityResolver {
  Optional<String> resolve(Attributes transportAttributes, Metadata headers);
}
