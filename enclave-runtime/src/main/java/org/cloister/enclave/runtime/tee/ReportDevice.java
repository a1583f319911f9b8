package org.cloister.enclave.runtime.tee;

import java.io.IOException;

/**
 * Where a confidential VM's guest gets its hardware-signed report over 64 bytes of report data:
 * {@link ConfigfsTsm} (Linux 6.7+, SEV-SNP and TDX) or, on older kernels, {@link SevGuest} ({@code /dev/sev-guest}).
 */
public interface ReportDevice {
  /**
   * @param reportData exactly 64 bytes
   * @throws IOException naming what failed
   */
  ConfigfsTsm.Report report(byte[] reportData) throws IOException;
}
