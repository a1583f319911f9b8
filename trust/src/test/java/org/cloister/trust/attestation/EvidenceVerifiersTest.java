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

  /** A plug-in platform (a test double of a TEE this module does not know), with its own measurement. */
  static class TestTee implements EvidenceVerifierProvider {
    static final TeePlatform PLATFORM = TeePlatform.named("test-tee");

    @Override
    public TeePlatform platform() {
      return PLATFORM;
    }

    @Override
    public EvidenceVerifier pinnedRoots() {
      return new EvidenceVerifier() {
        @Override
        public TeePlatform platform() {
          return TeePlatform.named("test-tee"); // another instance: platforms are equal by id
        }

        @Override
        public Set<String> expectableNames() {
          return Set.of("image");
        }

        @Override
        public VerifiedEvidence verify(byte[] evidence, Collateral collateral, EvidencePolicy policy)
            throws AttestationException {
          throw new AttestationException(FailureReason.BAD_SIGNATURE, "the test double signs nothing");
        }
      };
    }

    @Override
    public java.util.Map<String, Integer> pinnableMeasurements() {
      return java.util.Map.of("image", 32);
    }

    @Override
    public List<String> requiredMeasurements() {
      return List.of("image");
    }
  }

  private static List<EvidenceVerifierProvider> builtInsAnd(EvidenceVerifierProvider p) {
    return List.of(new EvidenceVerifiers.Nitro(), p, new EvidenceVerifiers.SevSnp(), new EvidenceVerifiers.Tdx());
  }

  @Test
  void aNewPlatformIsARegisteredIdNotAnEnumConstant() throws Exception {
    final java.security.cert.X509Certificate DEV_ROOT =
        org.cloister.trust.attestation.tdx.SimulatedTdxPlatform.fromSecret(new byte[32]).root();
    EvidenceVerifiers installed = new EvidenceVerifiers(builtInsAnd(new TestTee()));
    assertThat(installed.installedIds()).isEqualTo("nitro, sev-snp, tdx, test-tee");
    assertThat(installed.platform("test-tee")).isEqualTo(TestTee.PLATFORM);
    assertThat(installed.platform("test-tee").builtIn()).isFalse();
    assertThat(installed.pinnedRoots(TeePlatform.named("test-tee")).expectableNames()).containsExactly("image");
    // the confidential-VM verifiers a party builds come from the registry: the plug-in's beside SNP and TDX
    assertThat(installed.confidentialVm(java.util.Map.of())).extracting(EvidenceVerifier::platform)
        .containsExactlyInAnyOrder(TeePlatform.SEV_SNP, TeePlatform.TDX, TestTee.PLATFORM);
    assertThatThrownBy(() -> installed.platform("sgx")).hasMessageContaining("unknown platform 'sgx'")
        .hasMessageContaining("expected nitro, sev-snp, tdx, test-tee");
    // a development root goes only to a platform with a test double, never silently ignored
    assertThatThrownBy(() -> installed.confidentialVm(java.util.Map.of(TestTee.PLATFORM,
        DEV_ROOT)))
        .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("test-tee verifier takes no development root");
    assertThatThrownBy(() -> installed.confidentialVm(java.util.Map.of(TeePlatform.NITRO,
        DEV_ROOT)))
        .hasMessageContaining("not an installed confidential-VM platform");
    // built-in ids name the built-in platforms; a malformed id is refused
    assertThat(TeePlatform.named("sev-snp")).isSameAs(TeePlatform.SEV_SNP);
    assertThatThrownBy(() -> TeePlatform.named("Bad Id")).hasMessageContaining("lower-case letters");
  }

  @Test
  void aPlugInClaimingABuiltInIdIsRefusedEvenByName() {
    EvidenceVerifierProvider impostor = new TestTee() {
      @Override
      public TeePlatform platform() {
        return TeePlatform.named("tdx");
      }
    };
    assertThatThrownBy(() -> new EvidenceVerifiers(builtInsAnd(impostor))).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("claims the tdx platform").hasMessageContaining("cannot replace a built-in verifier");
  }

  @Test
  void aPlugInPlatformIsPinnedOnlyByTheMeasurementsItsProviderDeclares() {
    EvidenceVerifierProvider bare = new EvidenceVerifierProvider() {
      @Override
      public TeePlatform platform() {
        return TeePlatform.named("bare-tee");
      }

      @Override
      public EvidenceVerifier pinnedRoots() {
        throw new AssertionError("never asked");
      }
    };
    // the built-in platforms' tables now come from their providers: unchanged
    assertThat(MeasurementPins.required(TeePlatform.TDX)).containsExactly("mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3");
    assertThat(EvidenceVerifiers.provider(TeePlatform.SEV_SNP).pinnableMeasurements())
        .containsEntry("measurement", 48).containsEntry("host_data", 32);
    // a provider declaring no measurement leaves nothing to pin: no party can be configured to accept its evidence
    assertThat(bare.pinnableMeasurements()).isEmpty();
    assertThat(bare.requiredMeasurements()).isEmpty();
    // and a platform no installed provider registers cannot be pinned at all
    assertThatThrownBy(() -> new MeasurementPins(bare.platform(), java.util.Map.of("image", new byte[32]), false))
        .hasMessageContaining("no verifier of bare-tee (installed: nitro, sev-snp, tdx)");
    assertThatThrownBy(() -> EvidenceVerifiers.fromId("bare-tee")).hasMessageContaining("unknown platform 'bare-tee'");
  }

  /**
   * Parsing an id: the registry (host side) knows the built-ins and installed plug-ins; {@link TeePlatform#builtIn}
   * (what an enclave uses to name its own platform, with no verifier in its image) knows only the built-ins.
   */
  @Test
  void theRegistryParsesIdsAndTeePlatformKnowsOnlyTheBuiltIns() {
    assertThat(EvidenceVerifiers.fromId(" SEV-SNP ")).isSameAs(TeePlatform.SEV_SNP);
    assertThat(EvidenceVerifiers.fromId("tdx")).isSameAs(TeePlatform.TDX);
    assertThat(TeePlatform.builtIn(" Nitro")).containsSame(TeePlatform.NITRO);
    assertThat(TeePlatform.builtIn("bare-tee")).isEmpty();
    assertThat(TeePlatform.builtIn(null)).isEmpty();
    assertThatThrownBy(() -> EvidenceVerifiers.fromId(null)).hasMessageContaining("unknown platform ''")
        .hasMessageContaining("nitro, sev-snp, tdx");
  }
}
