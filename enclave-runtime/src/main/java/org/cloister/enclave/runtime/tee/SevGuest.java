package org.cloister.enclave.runtime.tee;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * SEV-SNP reports through the {@code sev-guest} driver's device ({@code /dev/sev-guest}), for guests whose kernel
 * predates configfs-tsm (Linux before 6.7). Asks with {@code SNP_GET_EXT_REPORT} first, which also returns the
 * certificate table the host provisioned (VCEK or VLEK, ASK, ARK; the same GHCB table as configfs-tsm's
 * {@code auxblob}); when the certificate buffer is too small the driver says how large it must be and the request
 * is repeated once with that size; a host that provisioned no certificates answers with an empty table. The
 * structures are those of Linux's {@code include/uapi/linux/sev-guest.h}:
 *
 * <pre>
 *   struct snp_report_req      { u8 user_data[64]; u32 vmpl; u8 rsvd[28]; }                        96 bytes
 *   struct snp_ext_report_req  { struct snp_report_req data; u64 certs_address; u32 certs_len; }   112 bytes
 *   struct snp_report_resp     { u8 data[4000]; }  = MSG_REPORT_RSP { u32 status; u32 report_size; u8 rsvd[24];
 *                                                                     u8 report[1184]; }
 *   struct snp_guest_request_ioctl { u8 msg_version; u64 req_data; u64 resp_data;
 *                                    union { u64 exitinfo2; struct { u32 fw_error; u32 vmm_error; }; }; }  32 bytes
 *   SNP_GET_REPORT     = _IOWR('S', 0x0, struct snp_guest_request_ioctl)
 *   SNP_GET_EXT_REPORT = _IOWR('S', 0x2, struct snp_guest_request_ioctl)
 * </pre>
 * The report is requested at VMPL 0 (verifiers pin VMPL 0 by default).
 */
public final class SevGuest implements ReportDevice {
  /** Where the sev-guest driver exposes its device. */
  public static final Path DEFAULT_DEVICE = Path.of("/dev/sev-guest");
  public static final long SNP_GET_REPORT = DeviceFile.iowr('S', 0x0, 32);
  public static final long SNP_GET_EXT_REPORT = DeviceFile.iowr('S', 0x2, 32);
  static final int REPORT_REQ = 96;
  static final int EXT_REPORT_REQ = 112;
  static final int RESPONSE = 4000;
  static final int REPORT = 1184;
  /** SNP_GUEST_VMM_ERR_INVALID_LEN: the certificate buffer is too small; certs_len now says how large. */
  static final int VMM_ERR_INVALID_LEN = 1;
  /** Four pages: the kernel's usual certificate buffer, enough for a VCEK, ASK and ARK. */
  static final int CERTS_BUFFER = 4 * 4096;
  /** Far above any certificate table a host provisions. */
  static final int MAX_CERTS = 1 << 20;

  private final DeviceFile.Opener device;

  public SevGuest(DeviceFile.Opener device) {
    this.device = Objects.requireNonNull(device, "device");
  }

  /** The real device at {@code path}. */
  public static SevGuest at(Path path) {
    return new SevGuest(() -> DeviceFile.open(path));
  }

  @Override
  public ConfigfsTsm.Report report(byte[] reportData) throws IOException {
    if (reportData == null || reportData.length != 64) {
      throw new IllegalArgumentException("SEV-SNP report data must be 64 bytes");
    }
    try (DeviceFile dev = device.open()) {
      int certsLen = CERTS_BUFFER;
      for (int attempt = 0; ; attempt++) {
        Memory req = new Memory(EXT_REPORT_REQ);
        req.clear();
        req.write(0, reportData, 0, 64);
        Memory certs = new Memory(certsLen);
        certs.clear();
        req.setLong(96, Pointer.nativeValue(certs));
        req.setInt(104, certsLen);
        Memory resp = new Memory(RESPONSE);
        resp.clear();
        Memory ioctl = guestRequest(req, resp);
        try {
          dev.ioctl(SNP_GET_EXT_REPORT, ioctl);
        } catch (DeviceFile.IoctlException e) {
          int vmmError = ioctl.getInt(28);
          int needed = req.getInt(104);
          if (vmmError == VMM_ERR_INVALID_LEN && attempt == 0 && needed > certsLen && needed <= MAX_CERTS) {
            certsLen = needed;
            continue;
          }
          throw new IOException("SNP_GET_EXT_REPORT on the sev-guest device failed: " + e.getMessage()
              + ", firmware error 0x" + Integer.toHexString(ioctl.getInt(24)) + ", VMM error " + vmmError, e);
        }
        byte[] report = reportFrom(resp);
        byte[] table = certs.getByteArray(0, certsLen);
        List<byte[]> chain = emptyTable(table) ? List.of() : ConfigfsTsm.snpCertificateTable(table);
        return new ConfigfsTsm.Report("sev-snp", report, chain);
      }
    }
  }

  private static Memory guestRequest(Memory req, Memory resp) {
    Memory ioctl = new Memory(32);
    ioctl.clear();
    ioctl.setByte(0, (byte) 1); // msg_version
    ioctl.setLong(8, Pointer.nativeValue(req));
    ioctl.setLong(16, Pointer.nativeValue(resp));
    return ioctl;
  }

  /** The report of a MSG_REPORT_RSP, after checking the firmware's status and the size it states. */
  private static byte[] reportFrom(Memory resp) throws IOException {
    int status = resp.getInt(0);
    int size = resp.getInt(4);
    if (status != 0) {
      throw new IOException("the SEV-SNP firmware refused the report request: status 0x" + Integer.toHexString(status));
    }
    if (size != REPORT) {
      throw new IOException("the SEV-SNP firmware returned a report of " + size + " bytes, not " + REPORT);
    }
    return resp.getByteArray(0x20, REPORT);
  }

  private static boolean emptyTable(byte[] table) {
    for (int i = 0; i < 24; i++) {
      if (table[i] != 0) {
        return false;
      }
    }
    return true;
  }
}
