package org.cloister.cli.privacy;

import java.util.Locale;
import org.cloister.dp.accounting.PrivacyAccountant;
import org.cloister.dp.accounting.pld.PldAccountant;
import org.cloister.dp.accounting.rdp.RdpAccountant;

/** The accountant chosen with {@code --accountant}. */
public enum AccountantKind {
  RDP, PLD;

  PrivacyAccountant create() {
    return this == RDP ? new RdpAccountant() : new PldAccountant();
  }

  String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
