package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.cloister.trust.pki.CertificatePaths;
import org.cloister.trust.pki.Pem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProvisionCommandTest {

  @Test
  void writesAStartupKitPerPartyWithKeysOnlyInTheirOwnFolder(@TempDir Path dir) throws Exception {
    Path spec = dir.resolve("consortium.yaml");
    Files.writeString(spec, "consortium: wdbc\ncoordinator: {host: 127.0.0.1, port: 7443}\nsites: [site-1, site-2]\n");
    Path out = dir.resolve("kits");
    CloisterCommandTest.Run r = CloisterCommandTest.run("provision", spec.toString(), "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("Provisioned consortium wdbc (2 sites)");

    for (String site : List.of("site-1", "site-2")) {
      Path kit = out.resolve(site);
      assertThat(kit.resolve("site.yaml")).exists();
      X509Certificate root = Pem.readCertificate(kit.resolve("ca.crt"));
      List<X509Certificate> chain = Pem.readCertificates(kit.resolve("site.crt"));
      assertThat(chain.get(0).getSubjectX500Principal().getName()).contains("CN=" + site);
      CertificatePaths.validate(chain, root, Instant.now()); // chains to the consortium CA
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(kit.resolve("site.key")))).isEqualTo("rw-------");
      // the folder holds exactly one private key: its own
      try (Stream<Path> files = Files.list(kit)) {
        assertThat(files.filter(p -> p.toString().endsWith(".key")).toList()).containsExactly(kit.resolve("site.key"));
      }
    }
    assertThat(out.resolve("coordinator/coordinator.key")).exists();
    assertThat(Files.readString(out.resolve("coordinator/coordinator.yaml"))).contains("listen: 127.0.0.1:7443");
  }

  @Test
  void refusesToOverwriteAndNamesBadSpecs(@TempDir Path dir) throws Exception {
    Path spec = dir.resolve("c.yaml");
    Files.writeString(spec, "consortium: x\nsites: [a, a]\n");
    CloisterCommandTest.Run r = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("o").toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("site id 'a' appears twice");

    Files.writeString(spec, "consortium: x\nsites: [a]\n");
    Files.createDirectories(dir.resolve("full"));
    Files.writeString(dir.resolve("full/keep.txt"), "x");
    CloisterCommandTest.Run r2 = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("full").toString());
    assertThat(r2.code()).isEqualTo(2);
    assertThat(r2.err()).contains("not empty");
  }
}
