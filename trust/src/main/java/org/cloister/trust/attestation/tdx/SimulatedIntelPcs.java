package org.cloister.trust.attestation.tdx;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.pki.Pem;

/**
 * TEST DOUBLE of Intel's PCS for {@link SimulatedTdxPlatform}: the collateral a verifier fetches beside a quote
 * (TCB info and QE identity JSON in PCS v4's shape signed by the double's TCB signing key, the CRLs of its root and
 * PCK CA). Host side: the enclave runs the platform double (it signs its own quotes), never this, so its image
 * carries no collateral code. Development and tests only.
 */
public final class SimulatedIntelPcs {
  private final SimulatedTdxPlatform tdx;

  public SimulatedIntelPcs(SimulatedTdxPlatform tdx) {
    this.tdx = java.util.Objects.requireNonNull(tdx, "tdx");
  }

  /**
   * What a verifier needs beside the quote, as Intel's PCS would serve it on {@code issued}: the TCB signing
   * certificate, the CRLs of the root and of the PCK CA, TCB info and QE identity (both valid 30 days).
   */
  public Collateral collateral(Instant issued) throws GeneralSecurityException {
    X509Certificate root = tdx.root();
    Instant next = issued.plus(Duration.ofDays(30));
    return new Collateral(List.of(tdx.tcbSigning()), List.of(crl(root, tdx.rootKeys().getPrivate(), issued, next),
        crl(tdx.pckCa(), tdx.caKeys().getPrivate(), issued, next)),
        List.of(new Collateral.RawJson("test double tcbInfo", tcbInfo(issued, next))),
        List.of(new Collateral.RawJson("test double qeIdentity", qeIdentity(issued, next))));
  }

  /** Writes {@link #collateral(Instant)} into {@code dir} as a collateral folder holds it (PEM, DER, PCS JSON). */
  public void writeCollateral(Path dir, Instant issued) throws IOException, GeneralSecurityException {
    Collateral c = collateral(issued);
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("tcb-signing.pem"), Pem.certificatesToPem(List.of(tdx.tcbSigning())));
    Files.write(dir.resolve("root.crl"), c.crls().get(0).getEncoded());
    Files.write(dir.resolve("pck-platform-ca.crl"), c.crls().get(1).getEncoded());
    Files.writeString(dir.resolve("tcbinfo.json"), c.tcbInfos().get(0).text());
    Files.writeString(dir.resolve("qe-identity.json"), c.qeIdentities().get(0).text());
  }

  private String tcbInfo(Instant issued, Instant next) throws GeneralSecurityException {
    String sgx = components(2);
    String body = "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"" + issued + "\",\"nextUpdate\":\"" + next
        + "\",\"fmspc\":\"" + SimulatedTdxPlatform.FMSPC + "\",\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":17,"
        + "\"tdxModule\":{\"mrsigner\":\"" + "00".repeat(48) + "\",\"attributes\":\"0000000000000000\","
        + "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},\"tcbLevels\":["
        + level(sgx, SimulatedTdxPlatform.MODULE_SVN_UP_TO_DATE, "UpToDate", "") + ","
        + level(sgx, 0, "OutOfDate", "\"" + SimulatedTdxPlatform.ADVISORY + "\"") + "]}";
    return "{\"tcbInfo\":" + body + ",\"signature\":\"" + HexFormat.of().formatHex(SimulatedTdxPlatform.rawSign(
        tdx.tcbSigningKeys().getPrivate(), body.getBytes(StandardCharsets.UTF_8))) + "\"}";
  }

  private static String level(String sgx, int moduleSvn, String status, String advisories) {
    StringBuilder tdx = new StringBuilder("[");
    for (int i = 0; i < 16; i++) {
      tdx.append(i == 0 ? "" : ",").append("{\"svn\":").append(i == 0 ? moduleSvn : 0).append('}');
    }
    tdx.append(']');
    return "{\"tcb\":{\"sgxtcbcomponents\":" + sgx + ",\"pcesvn\":11,\"tdxtcbcomponents\":" + tdx
        + "},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"" + status + "\",\"advisoryIDs\":[" + advisories
        + "]}";
  }

  private static String components(int svn) {
    StringBuilder s = new StringBuilder("[");
    for (int i = 0; i < 16; i++) {
      s.append(i == 0 ? "" : ",").append("{\"svn\":").append(svn).append('}');
    }
    return s.append(']').toString();
  }

  private String qeIdentity(Instant issued, Instant next) throws GeneralSecurityException {
    String body = "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"" + issued + "\",\"nextUpdate\":\"" + next
        + "\",\"tcbEvaluationDataNumber\":17,\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
        + "\"attributes\":\"11000000000000000000000000000000\",\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
        + "\"mrsigner\":\"" + HexFormat.of().formatHex(SimulatedTdxPlatform.qeMrSigner()) + "\",\"isvprodid\":2,\"tcbLevels\":[{\"tcb\":"
        + "{\"isvsvn\":4},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]}";
    return "{\"enclaveIdentity\":" + body + ",\"signature\":\"" + HexFormat.of().formatHex(SimulatedTdxPlatform.rawSign(
        tdx.tcbSigningKeys().getPrivate(), body.getBytes(StandardCharsets.UTF_8))) + "\"}";
  }

  private static X509CRL crl(X509Certificate issuer, PrivateKey key, Instant thisUpdate, Instant nextUpdate)
      throws GeneralSecurityException {
    X509v2CRLBuilder b = new X509v2CRLBuilder(X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()),
        Date.from(thisUpdate));
    b.setNextUpdate(Date.from(nextUpdate));
    try {
      return new JcaX509CRLConverter().getCRL(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException("cannot sign the test double's CRL", e);
    }
  }
}
