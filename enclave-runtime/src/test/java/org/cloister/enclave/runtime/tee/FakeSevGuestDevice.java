package org.cloister.enclave.runtime.tee;

import com.sun.jna.Pointer;
import java.io.IOException;
import java.util.List;
import org.cloister.trust.attestation.snp.SimulatedSnpPlatform;

/**
 * TEST DOUBLE of the Linux sev-guest device ({@code /dev/sev-guest}) on an SEV-SNP guest: it reads the
 * {@code snp_guest_request_ioctl} and the request it points to from native memory like the driver, answers with a
 * MSG_REPORT_RSP holding a report of the {@link SimulatedSnpPlatform} hardware double over the request's user
 * data, and, for SNP_GET_EXT_REPORT, writes the host's certificate table (VCEK, ASK) into the guest's buffer, or,
 * when the buffer is too small, fails with EINVAL, VMM error INVALID_LEN and the needed {@code certs_len}, as the
 * kernel does. {@code firmwareStatus} makes the firmware refuse; {@code certificates} empty models a host that
 * provisioned none.
 */
final class FakeSevGuestDevice implements DeviceFile {
  static final int EINVAL = 22;
  static final int ENOTTY = 25;
  private final SimulatedSnpPlatform snp;
  private final byte[] measurement;
  List<byte[]> certificates;
  int firmwareStatus;
  int requests;
  int lastVmpl = -1;
  boolean closed;

  FakeSevGuestDevice(SimulatedSnpPlatform snp, byte[] measurement) {
    this.snp = snp;
    this.measurement = measurement.clone();
    this.certificates = snp.chainDer();
  }

  @Override
  public void ioctl(long request, Pointer argument) throws IOException {
    requests++;
    if (request != SevGuest.SNP_GET_REPORT && request != SevGuest.SNP_GET_EXT_REPORT) {
      throw new IoctlException("unknown sev-guest ioctl", ENOTTY);
    }
    if (argument.getByte(0) != 1) {
      throw new IoctlException("msg_version must be 1", EINVAL);
    }
    Pointer req = new Pointer(argument.getLong(8));
    Pointer resp = new Pointer(argument.getLong(16));
    byte[] userData = req.getByteArray(0, 64);
    lastVmpl = req.getInt(64);
    if (request == SevGuest.SNP_GET_EXT_REPORT) {
      byte[] table = FakeConfigfsKernel.table(certificates);
      int pages = (table.length + 4095) / 4096 * 4096;
      int given = req.getInt(104);
      if (given < table.length) {
        req.setInt(104, pages);
        argument.setInt(28, 1); // SNP_GUEST_VMM_ERR_INVALID_LEN
        throw new IoctlException("certificate buffer too small", EINVAL);
      }
      new Pointer(req.getLong(96)).write(0, table, 0, table.length);
    }
    if (firmwareStatus != 0) {
      resp.setInt(0, firmwareStatus);
      return;
    }
    byte[] report;
    try {
      report = snp.report(userData, measurement, SimulatedSnpPlatform.POLICY);
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException(e);
    }
    resp.setInt(0, 0);
    resp.setInt(4, report.length);
    resp.write(0x20, report, 0, report.length);
  }

  @Override
  public void close() {
    closed = true;
  }
}
