package org.cloister.coordinator.service;

import io.grpc.Attributes;
import io.grpc.Metadata;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Takes the site identity from the {@code x-cloister-site} header. Anyone can claim any identity
 * this way: for in-process development and plaintext loopback demos only, never across machines.
 */
public final class DevelopmentHeaderIdentityResolver implements SiteIdentityResolver {
  public static final Metadata.Key<String> HEADER = org.cloister.protocol.Headers.DEV_SITE_ID;
  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  @Override
  public Optional<String> resolve(Attributes transportAttributes, Metadata headers) {
    String v = headers.get(HEADER);
    return v != null && VALID.matcher(v).matches() ? Optional.of(v) : Optional.empty();
  }
}
