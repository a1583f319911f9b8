package org.cloister.consortium;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.cloister.broker.BrokerKeystore;
import org.cloister.broker.KeyPolicies;
import org.cloister.broker.KeyPolicy;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.enclave.ImageMeasurement;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.IssuedCertificate;
import org.cloister.trust.pki.Pem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consortium's steps in setting up secure aggregation, as files: the development attestation
 * root of the simulated platform, members' HPKE sealing keys, the enclave configuration (roster of
 * members, key broker) and aggregation policy, the PCRs expected of an enclave running a given
 * image with them, and the key broker's directory (TLS certificate, protected keystore with the
 * model key, the key policy pinning those PCRs). {@code cloister provision} writes them into the
 * parties' kits; a simulation writes them into one work directory and plays every party.
 */
public final class SecureAggregationSetup {
  private static final Logger log = LoggerFactory.getLogger(SecureAggregationSetup.class);
  /** The key broker's TLS name, pinned in the enclave configuration. */
  public static final String BROKER_NAME = "cloister-key-broker";
  static final String SEALING_KEY_FORMAT = "cloister-hpke-x25519-sealing-key/v1";

  private SecureAggregationSetup() {
  }

  /** The enclave's configuration and policy files and the model key they name. */
  public record EnclaveFiles(Path config, Path policy, String keyId) {
  }

  /** The files of the key broker's directory (see {@link #brokerDirectory}). */
  public record BrokerFiles(Path directory) {
    public Path tlsCertificate() {
      return directory.resolve("tls.pem");
    }

    public Path tlsKey() {
      return directory.resolve("tls.key");
    }

    public Path keystore() {
      return directory.resolve("keystore.p12");
    }

    public Path keystorePassword() {
      return directory.resolve("keystore.password");
    }

    public Path adminToken() {
      return directory.resolve("admin.token");
    }

    public Path policies() {
      return directory.resolve("key-policies.json");
    }
  }

  /**
   * The strategy a study's configuration names ({@code fedadam}, {@code fedprox:0.1},
   * {@code trimmed_mean:trim=0.2}, ...) as the policy measures it: every parameter explicit, omitted
   * ones at the rule's documented defaults (docs/extending.md).
   *
   * @throws IllegalArgumentException naming an unknown strategy, parameter or a bad value
   */
  public static org.cloister.aggregation.strategy.StrategySpec strategySpec(String strategy) {
    return org.cloister.coordinator.strategy.Strategies.parse(strategy).spec();
  }

  /** The key broker's key id for a study's models. */
  public static String modelKeyId(String studyId) {
    return "cloister/model/" + studyId.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]", "-");
  }

  /**
   * Creates the development attestation root of the simulated platform: documents signed by it
   * prove the protocol, not isolation; verifiers trust it only when configured to, explicitly.
   */
  public static DevelopmentAttestationAuthority developmentRoot(Path certificate, Path privateKey, Clock clock,
                                                                SecureRandom random) throws IOException {
    DevelopmentAttestationAuthority authority = DevelopmentAttestationAuthority.generate(clock, random);
    Files.createDirectories(certificate.toAbsolutePath().getParent());
    Files.createDirectories(privateKey.toAbsolutePath().getParent());
    authority.save(certificate, privateKey);
    log.warn("DEVELOPMENT attestation root created ({}): enclave documents it signs come from a SIMULATED platform "
        + "and prove nothing about isolation. Never use it with real patient data.", certificate);
    return authority;
  }

  /** A new sealing key pair for a consortium member. */
  public static HpkeKeyPair newSealingKey() {
    return new Hpke().generateKeyPair();
  }

  /** Writes a member's sealing key pair, readable by its owner only. */
  public static void writeSealingKey(Path file, HpkeKeyPair key) throws IOException {
    ObjectNode n = JSON.createObjectNode().put("format", SEALING_KEY_FORMAT)
        .put("public_key", HexFormat.of().formatHex(key.publicKey()))
        .put("private_key", HexFormat.of().formatHex(key.privateKey()));
    writeSecret(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
  }

  /** Reads a sealing key pair written by {@link #writeSealingKey}. */
  public static HpkeKeyPair readSealingKey(Path file) throws IOException {
    JsonNode n = JSON.readTree(Files.readAllBytes(file));
    if (n == null || !SEALING_KEY_FORMAT.equals(n.path("format").asText())) {
      throw new IOException(file + " is not a sealing key (format " + SEALING_KEY_FORMAT + ")");
    }
    try {
      return new HpkeKeyPair(HexFormat.of().parseHex(n.path("public_key").asText()),
          HexFormat.of().parseHex(n.path("private_key").asText()));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": malformed sealing key: " + e.getMessage(), e);
    }
  }

  /**
   * Issues the key broker's TLS certificate from {@code ca} into its directory (the enclave
   * configuration pins {@code ca}).
   */
  public static BrokerFiles brokerTls(CertificateAuthority ca, Path brokerDirectory, Instant notBefore, Instant notAfter)
      throws IOException {
    BrokerFiles files = new BrokerFiles(Files.createDirectories(brokerDirectory));
    IssuedCertificate tls = ca.issueServer(BROKER_NAME, List.of(BROKER_NAME, "localhost"), List.of("127.0.0.1"),
        notBefore, notAfter);
    Pem.writeCertificates(files.tlsCertificate(), tls.chain());
    Pem.writePrivateKey(files.tlsKey(), tls.privateKey());
    return files;
  }

  /**
   * Writes the enclave configuration (the members who receive sealed models, the key broker) and
   * the aggregation policy into {@code directory}.
   *
   * @param members      member id to the member's sealing public key, in roster order
   * @param observers    the members that never train (evaluators): they receive models, never count
   *                     toward the cohort floor, and their updates are refused
   * @param consortiumCa the CA that issues members' certificates (they sign contribution statements)
   * @param brokerCa     the CA that issued the key broker's TLS certificate
   */
  public static EnclaveFiles enclaveFiles(Path directory, AggregationPolicy policy, Map<String, byte[]> members,
                                          java.util.Set<String> observers, X509Certificate consortiumCa,
                                          X509Certificate brokerCa) throws IOException {
    Files.createDirectories(directory);
    for (String o : observers) {
      if (!members.containsKey(o)) {
        throw new IllegalArgumentException("observer " + o + " is not a member");
      }
    }
    long sites = members.keySet().stream().filter(m -> !observers.contains(m)).count();
    if (sites < policy.cohortFloor()) {
      throw new IllegalArgumentException("the consortium has " + sites + " training site(s), fewer than the policy's "
          + "cohort floor k = " + policy.cohortFloor() + ": no model could ever be published");
    }
    List<EnclaveConfig.Member> roster = new ArrayList<>();
    members.forEach((id, pk) -> roster.add(new EnclaveConfig.Member(id,
        observers.contains(id) ? EnclaveConfig.ROLE_OBSERVER : EnclaveConfig.ROLE_SITE, HexFormat.of().formatHex(pk))));
    String keyId = modelKeyId(policy.studyId());
    EnclaveConfig config = new EnclaveConfig(EnclaveConfig.FORMAT, "cloister-secure-aggregator", roster,
        Pem.certificatesToPem(List.of(consortiumCa)),
        new EnclaveConfig.KeyBroker(keyId, Pem.certificatesToPem(List.of(brokerCa)), BROKER_NAME));
    Path configFile = directory.resolve("enclave-config.json");
    Path policyFile = directory.resolve("aggregation-policy.json");
    Files.write(configFile, config.toJson());
    Files.write(policyFile, policy.toJson());
    return new EnclaveFiles(configFile, policyFile, keyId);
  }

  /**
   * PCR0..2 of an enclave that runs {@code image} with these files: what the consortium pins.
   *
   * @param image the image jar, or null for the development classpath (PCR0 then measures only the
   *              enclave's own classes, with a warning)
   */
  public static Map<Integer, byte[]> expectedPcrs(Path image, EnclaveFiles files) throws IOException {
    Path measured = image;
    if (measured == null) {
      measured = ImageMeasurement.codeArtifact();
      log.warn("no enclave image jar was built: the enclave runs from the development classpath and PCR0 measures "
          + "only {}", measured);
    }
    return ImageMeasurement.pcrs(measured, Files.readAllBytes(files.config()), Files.readAllBytes(files.policy()));
  }

  /**
   * Completes the key broker's directory: a protected keystore holding the model key and a key
   * policy that releases it only to an enclave with {@code pcrs}; the keystore password and the
   * admin token are random, owner-readable files.
   */
  public static BrokerFiles brokerDirectory(BrokerFiles files, String keyId, Map<Integer, byte[]> pcrs,
                                            SecureRandom random) throws IOException {
    return brokerDirectory(files, KeyPolicy.of(keyId, pcrs), random);
  }

  /** Same, releasing the key only to an enclave on SEV-SNP / TDX with the pinned {@code measurements}. */
  public static BrokerFiles brokerDirectory(BrokerFiles files, String keyId,
                                            org.cloister.trust.attestation.MeasurementPins measurements,
                                            SecureRandom random) throws IOException {
    return brokerDirectory(files, KeyPolicy.of(keyId, measurements), random);
  }

  private static BrokerFiles brokerDirectory(BrokerFiles files, KeyPolicy keyPolicy, SecureRandom random)
      throws IOException {
    String keyId = keyPolicy.keyId();
    char[] password = randomSecret(random).toCharArray();
    writeSecret(files.keystorePassword(), new String(password));
    writeSecret(files.adminToken(), randomSecret(random));
    BrokerKeystore keystore = BrokerKeystore.create(files.keystore(), password, random);
    keystore.createKey(keyId);
    KeyPolicies.create(files.policies()).put(keyPolicy);
    return files;
  }

  /** Writes the PCRs a consortium expects (JSON, hex values). */
  public static void writePcrs(Path file, Map<Integer, byte[]> pcrs) throws IOException {
    Files.writeString(file, MeasurementPins.nitro(pcrs).toJson(), StandardCharsets.UTF_8);
  }

  /**
   * Reads expected PCRs written by {@link #writePcrs}: a {@value MeasurementPins#FORMAT} file pinning Nitro (or the
   * simulated platform's) PCR0..2; the retired format and any other are refused, naming the file.
   */
  public static Map<Integer, byte[]> readPcrs(Path file) throws IOException {
    MeasurementPins pins = MeasurementPins.read(file);
    if (pins.platform() != TeePlatform.NITRO) {
      throw new IOException(file + " pins a " + pins.platform().id() + " enclave, not Nitro (or simulated) PCRs");
    }
    return pins.nitroPcrs();
  }

  // ------------------------------------------------------------------ where the enclave image is

  /**
   * The enclave image jar this distribution ships (system property {@code cloister.enclave.image},
   * env {@code CLOISTER_ENCLAVE_IMAGE}, or {@code enclave/cloister-enclave.jar} next to the
   * distribution's {@code lib/}), or null when none was built (a source tree built only to the test phase).
   */
  public static Path locateImage() {
    String configured = System.getProperty("cloister.enclave.image", System.getenv("CLOISTER_ENCLAVE_IMAGE"));
    if (configured != null && !configured.isBlank()) {
      Path p = Path.of(configured);
      if (Files.isRegularFile(p)) {
        return p;
      }
      log.warn("enclave image {} does not exist (build it with ./mvnw -pl secure-aggregator-enclave -am package)", p);
    }
    try {
      Path self = Path.of(SecureAggregationSetup.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (Files.isRegularFile(self) && self.getParent() != null && self.getParent().getParent() != null) {
        Path candidate = self.getParent().getParent().resolve("enclave").resolve("cloister-enclave.jar");
        if (Files.isRegularFile(candidate)) {
          return candidate;
        }
      }
    } catch (URISyntaxException | RuntimeException e) {
      // fall through to the development classpath
    }
    return null;
  }

  /** This JVM's class path (what the key broker, and an enclave without an image, run from). */
  public static List<Path> currentClasspath() {
    List<Path> out = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (!e.isBlank()) {
        out.add(Path.of(e).toAbsolutePath());
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ helpers

  private static final ObjectMapper JSON = new ObjectMapper();

  private static String randomSecret(SecureRandom random) {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** Writes {@code secret} to a new file readable by its owner only. */
  static void writeSecret(Path file, String secret) throws IOException {
    Files.deleteIfExists(file);
    try {
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(file);
    }
    Files.writeString(file, secret, StandardCharsets.US_ASCII);
  }
}
