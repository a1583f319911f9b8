package org.cloister.broker;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Challenge nonces the broker issued: each is valid for a short time and accepted once, so an
 * attestation document (which carries the nonce) cannot be replayed. Thread-safe; bounded.
 */
final class NonceRegistry {
  static final int NONCE_BYTES = 32;
  private static final int MAX_OUTSTANDING = 10_000;

  private final Clock clock;
  private final SecureRandom random;
  private final Duration ttl;
  private final Map<String, Long> outstanding = new LinkedHashMap<>();

  NonceRegistry(Clock clock, SecureRandom random, Duration ttl) {
    this.clock = clock;
    this.random = random;
    this.ttl = ttl;
  }

  record Issued(byte[] nonce, long expiresMillis) {
  }

  synchronized Issued issue() {
    evictExpired();
    if (outstanding.size() >= MAX_OUTSTANDING) {
      Iterator<String> it = outstanding.keySet().iterator();
      it.next();
      it.remove();
    }
    byte[] n = new byte[NONCE_BYTES];
    random.nextBytes(n);
    long expires = clock.millis() + ttl.toMillis();
    outstanding.put(HexFormat.of().formatHex(n), expires);
    return new Issued(n, expires);
  }

  /** True (once) if {@code nonce} was issued here and has not expired. */
  synchronized boolean consume(byte[] nonce) {
    if (nonce == null || nonce.length != NONCE_BYTES) {
      return false;
    }
    Long expires = outstanding.remove(HexFormat.of().formatHex(nonce));
    return expires != null && clock.millis() < expires;
  }

  private void evictExpired() {
    long now = clock.millis();
    outstanding.values().removeIf(e -> e <= now);
  }
}
