package org.cloister.trust.attestation;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.cloister.trust.attestation.nitro.AwsNitroRoot;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.attestation.nitro.NitroEvidenceVerifier;
import org.cloister.trust.attestation.snp.SnpVerifier;
import org.cloister.trust.attestation.tdx.TdxVerifier;

/**
 * The evidence verifiers installed in a verifying party (site, key broker, inference client, {@code attest verify}),
 * one per platform, registered through {@link EvidenceVerifierProvider}. Fail closed: each built-in platform
 * ({@code nitro}, {@code sev-snp}, {@code tdx}) is verified only by its built-in provider (AWS Nitro root, AMD
 * ARKs, Intel SGX Root CA pinned in this module); a provider of another class claiming one of them is an error
 * naming it, never a replacement, so no plug-in can make a party accept evidence its pinned platform's
 * verifier refuses. A missing built-in is an error too.
 */
public final class EvidenceVerifiers {
  private final Map<TeePlatform, EvidenceVerifierProvider> byPlatform = new EnumMap<>(TeePlatform.class);

  /** The built-in provider of each platform. */
  public static final class Nitro implements EvidenceVerifierProvider {
    @Override
    public TeePlatform platform() {
      return TeePlatform.NITRO;
    }

    @Override
    public EvidenceVerifier pinnedRoots() {
      return new NitroEvidenceVerifier(new NitroAttestationVerifier(AwsNitroRoot.certificate()));
    }
  }

  /** SEV-SNP under the AMD ARKs. */
  public static final class SevSnp implements EvidenceVerifierProvider {
    @Override
    public TeePlatform platform() {
      return TeePlatform.SEV_SNP;
    }

    @Override
    public EvidenceVerifier pinnedRoots() {
      return new SnpVerifier();
    }
  }

  /** TDX under the Intel SGX Root CA. */
  public static final class Tdx implements EvidenceVerifierProvider {
    @Override
    public TeePlatform platform() {
      return TeePlatform.TDX;
    }

    @Override
    public EvidenceVerifier pinnedRoots() {
      return new TdxVerifier();
    }
  }

  private static final Map<TeePlatform, Class<? extends EvidenceVerifierProvider>> BUILT_IN = Map.of(
      TeePlatform.NITRO, Nitro.class, TeePlatform.SEV_SNP, SevSnp.class, TeePlatform.TDX, Tdx.class);

  /**
   * @throws IllegalStateException naming a provider that claims a built-in platform, two providers of one
   *     platform, or a built-in platform with none
   */
  public EvidenceVerifiers(List<? extends EvidenceVerifierProvider> providers) {
    for (EvidenceVerifierProvider p : providers) {
      TeePlatform platform = p.platform();
      Class<? extends EvidenceVerifierProvider> builtIn = BUILT_IN.get(platform);
      if (builtIn != null && p.getClass() != builtIn) {
        throw new IllegalStateException(p.getClass().getName() + " claims the " + platform.id() + " platform, whose "
            + "evidence only " + builtIn.getName() + " verifies (a plug-in cannot replace a built-in verifier; remove "
            + "it from the class path)");
      }
      EvidenceVerifierProvider before = byPlatform.putIfAbsent(platform, p);
      if (before != null) {
        throw new IllegalStateException("two verifiers of " + platform.id() + " are installed: "
            + before.getClass().getName() + " and " + p.getClass().getName());
      }
    }
    for (TeePlatform platform : BUILT_IN.keySet()) {
      if (!byPlatform.containsKey(platform)) {
        throw new IllegalStateException("no verifier of " + platform.id() + " is installed (installed: "
            + installedIds() + "); is META-INF/services/" + EvidenceVerifierProvider.class.getName() + " missing?");
      }
    }
  }

  /** The providers on this party's class path. */
  public static EvidenceVerifiers installed() {
    return new EvidenceVerifiers(ServiceLoader.load(EvidenceVerifierProvider.class,
        EvidenceVerifiers.class.getClassLoader()).stream().map(ServiceLoader.Provider::get).toList());
  }

  /** The pinned-root verifier of {@code platform}. */
  public EvidenceVerifier pinnedRoots(TeePlatform platform) {
    EvidenceVerifierProvider p = byPlatform.get(platform);
    if (p == null) {
      throw new IllegalArgumentException("no verifier of " + platform.id() + " (installed: " + installedIds() + ")");
    }
    EvidenceVerifier v = p.pinnedRoots();
    if (v.platform() != platform) {
      throw new IllegalStateException(p.getClass().getName() + " returned a verifier of " + v.platform().id()
          + " for " + platform.id());
    }
    return v;
  }

  /** The installed platforms' ids. */
  public String installedIds() {
    return byPlatform.keySet().stream().map(TeePlatform::id).collect(Collectors.joining(", "));
  }
}
