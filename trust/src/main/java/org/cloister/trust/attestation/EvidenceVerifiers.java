package org.cloister.trust.attestation;

import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
  private final Map<TeePlatform, EvidenceVerifierProvider> byPlatform = new LinkedHashMap<>();

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

    @Override
    public Map<String, Integer> pinnableMeasurements() {
      return sized(48, "pcr0", "pcr1", "pcr2", "pcr3", "pcr4", "pcr8");
    }

    @Override
    public List<String> requiredMeasurements() {
      return List.of("pcr0", "pcr1", "pcr2");
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

    @Override
    public Map<String, Integer> pinnableMeasurements() {
      Map<String, Integer> m = sized(48, "measurement");
      m.put("host_data", 32);
      return m;
    }

    @Override
    public List<String> requiredMeasurements() {
      return List.of("measurement");
    }

    @Override
    public EvidenceVerifier developmentRoot(X509Certificate ark) {
      return SnpVerifier.development(ark);
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

    @Override
    public Map<String, Integer> pinnableMeasurements() {
      return sized(48, "mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mr_config_id");
    }

    @Override
    public List<String> requiredMeasurements() {
      return List.of("mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3");
    }

    @Override
    public EvidenceVerifier developmentRoot(X509Certificate root) {
      return TdxVerifier.development(root);
    }
  }

  private static Map<String, Integer> sized(int bytes, String... names) {
    Map<String, Integer> m = new LinkedHashMap<>();
    for (String n : names) {
      m.put(n, bytes);
    }
    return m;
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

  /**
   * The provider of {@code platform}: a built-in one directly (no class-path scan), another through
   * {@link #installed()}.
   *
   * @throws IllegalArgumentException naming the installed platforms when none provides it
   */
  public static EvidenceVerifierProvider provider(TeePlatform platform) {
    if (platform.equals(TeePlatform.NITRO)) {
      return new Nitro();
    } else if (platform.equals(TeePlatform.SEV_SNP)) {
      return new SevSnp();
    } else if (platform.equals(TeePlatform.TDX)) {
      return new Tdx();
    }
    EvidenceVerifiers installed = installed();
    EvidenceVerifierProvider p = installed.byPlatform.get(platform);
    if (p == null) {
      throw new IllegalArgumentException("no verifier of " + platform.id() + " (installed: " + installed.installedIds()
          + ")");
    }
    return p;
  }

  /**
   * Parses a platform id ({@code --platform}, measurement files, evidence received): a built-in platform, or one
   * registered by a verifier plug-in on this party's class path ({@link #installed()}); the error names the installed
   * ones. Case and surrounding blanks are ignored.
   *
   * @throws IllegalArgumentException naming the installed platforms when none has this id
   */
  public static TeePlatform fromId(String id) {
    String wanted = id == null ? "" : id.trim().toLowerCase(java.util.Locale.ROOT);
    return TeePlatform.builtIn(wanted).orElseGet(() -> installed().platform(wanted));
  }

  /**
   * The installed platform with this id.
   *
   * @throws IllegalArgumentException naming the installed ones
   */
  public TeePlatform platform(String id) {
    for (TeePlatform p : byPlatform.keySet()) {
      if (p.id().equals(id)) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown platform '" + id + "' (expected " + installedIds() + ")");
  }

  /**
   * The pinned-root verifiers of every installed confidential-VM platform (all but Nitro, whose documents keep
   * their own path), with a DEVELOPMENT root instead for each platform in {@code developmentRoots} (the caller
   * warns).
   *
   * @throws IllegalArgumentException naming a development root for a platform not installed or without a test double
   */
  public List<EvidenceVerifier> confidentialVm(Map<TeePlatform, X509Certificate> developmentRoots) {
    for (TeePlatform p : developmentRoots.keySet()) {
      if (!byPlatform.containsKey(p) || p.equals(TeePlatform.NITRO)) {
        throw new IllegalArgumentException("a development root for " + p.id() + ", which is not an installed "
            + "confidential-VM platform (" + installedIds() + ")");
      }
    }
    List<EvidenceVerifier> out = new ArrayList<>();
    for (Map.Entry<TeePlatform, EvidenceVerifierProvider> e : byPlatform.entrySet()) {
      if (e.getKey().equals(TeePlatform.NITRO)) {
        continue;
      }
      X509Certificate root = developmentRoots.get(e.getKey());
      EvidenceVerifier v = root == null ? pinnedRoots(e.getKey()) : e.getValue().developmentRoot(root);
      if (!v.platform().equals(e.getKey())) {
        throw new IllegalStateException(e.getValue().getClass().getName() + " returned a verifier of "
            + v.platform().id() + " for " + e.getKey().id());
      }
      out.add(v);
    }
    return out;
  }

  /** The pinned-root verifier of {@code platform}. */
  public EvidenceVerifier pinnedRoots(TeePlatform platform) {
    EvidenceVerifierProvider p = byPlatform.get(platform);
    if (p == null) {
      throw new IllegalArgumentException("no verifier of " + platform.id() + " (installed: " + installedIds() + ")");
    }
    EvidenceVerifier v = p.pinnedRoots();
    if (!v.platform().equals(platform)) {
      throw new IllegalStateException(p.getClass().getName() + " returned a verifier of " + v.platform().id()
          + " for " + platform.id());
    }
    return v;
  }

  /** The installed platforms' ids. */
  public String installedIds() {
    return byPlatform.keySet().stream()
        .sorted(java.util.Comparator.comparingInt((TeePlatform p) -> p.builtIn()
            ? TeePlatform.builtIns().indexOf(p) : Integer.MAX_VALUE).thenComparing(TeePlatform::id))
        .map(TeePlatform::id).collect(Collectors.joining(", "));
  }
}
