package org.cloister.coordinator.service;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import org.cloister.protocol.tls.MutualTls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Client certificates the coordinator refused at the TLS handshake: who tried and why (expired, revoked, from
 * another CA). Each distinct refusal is logged once at WARN (a retrying site does not flood the log); every one is
 * counted; the latest reason per certificate is kept for the study's status.
 */
public final class HandshakeRefusals implements MutualTls.RefusalListener {
  private static final Logger log = LoggerFactory.getLogger(HandshakeRefusals.class);
  private final Map<String, String> latest = new LinkedHashMap<>();
  private final Map<String, Integer> counts = new LinkedHashMap<>();
  private final BiConsumer<String, String> counter;

  /** @param counter told {@code ("handshake", kind)} of every refusal (e.g. the refused-requests metric) */
  public HandshakeRefusals(BiConsumer<String, String> counter) {
    this.counter = counter;
  }

  @Override
  public void refused(String subject, String reason) {
    boolean first;
    synchronized (this) {
      first = !reason.equals(latest.put(subject, reason));
      counts.merge(subject, 1, Integer::sum);
    }
    counter.accept("handshake", kind(reason));
    if (first) {
      log.warn("refused a TLS client at the handshake: {}: {} (logged once; later attempts are counted)", subject,
          reason);
    }
  }

  /** Certificates refused so far, each with its latest reason and the number of attempts. */
  public synchronized Map<String, String> refusals() {
    Map<String, String> out = new LinkedHashMap<>();
    latest.forEach((who, why) -> out.put(who, why + " (" + counts.get(who) + (counts.get(who) == 1 ? " attempt)" : " attempts)")));
    return out;
  }

  /** The common names of the refused certificates' subjects. */
  public synchronized java.util.Set<String> commonNames() {
    java.util.Set<String> names = new java.util.TreeSet<>();
    latest.keySet().forEach(s -> names.add(s.replaceAll("^CN=([^,( ]+).*", "$1")));
    return names;
  }

  private static String kind(String reason) {
    if (reason.startsWith("certificate expired")) {
      return "certificate_expired";
    }
    if (reason.startsWith("certificate revoked")) {
      return "certificate_revoked";
    }
    if (reason.startsWith("certificate not valid before")) {
      return "certificate_not_yet_valid";
    }
    return "certificate_unknown_ca";
  }
}
