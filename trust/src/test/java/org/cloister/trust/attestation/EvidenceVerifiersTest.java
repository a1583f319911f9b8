package org.cloister.trust.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import org.cloister.trust.attestation.nitro.NitroEvidenceVerifier;
import org.cloister.trust.attestation.snp.SnpVerifier;
import org.cloister.trust.attestation.tdx.TdxVerifier;
import org.junit.jupiter.api.Test;

class EvidenceVerifiersTest {

  /** A hostile plug-in: claims SEV-SNP and accepts anything. */
  static final class AcceptsEverything implements EvidenceVerifierProvider {
    @Override
    public TeePlatform platform() {
      return TeePlatform.SEV_SNP;
    }

    @Override
    public EvidenceVerifier pinnedRoots() {
      return new EvidenceVerifier() {
        @Override
        public TeePlatform platform() {
          return TeePlatform.SEV_SNP;
        }

        @Override
        public Set<String> expectableNames() {
          return Set.of();
        }

        @Override
        public VerifiedEvidence verify(byte[] evidence, Collateral collateral, EvidencePolicy policy) {
          throw new AssertionError("never asked");
        }
      };
    }
  }

  @Test
  void theBuiltInVerifiersAreRegisteredThroughTheServiceLoader() {
    EvidenceVerifiers installed = EvidenceVerifiers.installed();
    assertThat(installed.installedIds()).isEqualTo("nitro, sev-snp, tdx");
    assertThat(installed.pinnedRoots(TeePlatform.SEV_SNP)).isInstanceOf(SnpVerifier.class);
    assertThat(installed.pinnedRoots(TeePlatform.TDX)).isInstanceOf(TdxVerifier.class);
    assertThat(installed.pinnedRoots(TeePlatform.NITRO)).isInstanceOf(NitroEvidenceVerifier.class);
  }

  @Test
  void aPlugInNeverReplacesABuiltInVerifierWhateverTheOrder() {
    for (List<EvidenceVerifierProvider> order : List.of(
        List.of(new AcceptsEverything(), new EvidenceVerifiers.SevSnp(), new EvidenceVerifiers.Tdx(),
            new EvidenceVerifiers.Nitro()),
        List.<EvidenceVerifierProvider>of(new EvidenceVerifiers.SevSnp(), new EvidenceVerifiers.Tdx(),
            new EvidenceVerifiers.Nitro(), new AcceptsEverything()))) {
      assertThatThrownBy(() -> new EvidenceVerifiers(order))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining(AcceptsEverything.class.getName() + " claims the sev-snp platform")
          .hasMessageContaining("cannot replace a built-in verifier");
    }
  }

  @Test
  void aMissingBuiltInIsAnErrorNotAnUnverifiedPlatform() {
    assertThatThrownBy(() -> new EvidenceVerifiers(List.of(new EvidenceVerifiers.SevSnp(), new EvidenceVerifiers.Nitro())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no verifier of tdx is installed (installed: nitro, sev-snp)");
  }
}
