package org.cloister.cli.attest;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import picocli.CommandLine;

/** Parses an instant given as ISO-8601 (2021-03-17T23:00:00Z, with offset) or as epoch seconds. */
final class InstantConverter implements CommandLine.ITypeConverter<Instant> {
  @Override
  public Instant convert(String value) {
    String v = value.trim();
    if (v.matches("-?\\d{1,12}")) {
      return Instant.ofEpochSecond(Long.parseLong(v));
    }
    try {
      return Instant.parse(v);
    } catch (DateTimeParseException e) {
      try {
        return OffsetDateTime.parse(v).toInstant();
      } catch (DateTimeParseException e2) {
        throw new CommandLine.TypeConversionException(
            "'" + value + "' is neither an ISO-8601 instant (e.g. 2021-03-17T23:00:00Z) nor epoch seconds");
      }
    }
  }
}
