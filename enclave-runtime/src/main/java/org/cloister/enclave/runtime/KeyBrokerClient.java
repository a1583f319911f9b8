package org.cloister.enclave.runtime;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.Grpc;
import io.grpc.TlsChannelCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.TrustManagerFactory;
import org.cloister.protocol.v1.ChallengeRequest;
import org.cloister.protocol.v1.DecryptRequest;
import org.cloister.protocol.v1.GenerateDataKeyRequest;
import org.cloister.protocol.v1.GenerateDataKeyResponse;
import org.cloister.protocol.v1.KeyBrokerGrpc;
import org.cloister.protocol.v1.Recipient;
import org.cloister.protocol.v1.RecipientAad;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeException;
import org.cloister.trust.hpke.HpkeKeyPair;

/**
 * The enclave's side of the key broker protocol: a challenge nonce, an attestation document binding
 * it and the enclave's HPKE key, and the data key back sealed to that key. TLS to the broker with
 * its certificate checked against the CA pinned in the (measured) configuration, so the host that
 * relays the connection can neither read the answer nor impersonate the broker.
 */
public final class KeyBrokerClient implements AutoCloseable {
  /** HPKE info the broker seals data keys with (the broker's {@code KeyBrokerService.RECIPIENT_INFO}). */
  static final byte[] RECIPIENT_INFO = "cloister/v1 broker data key".getBytes(StandardCharsets.US_ASCII);

  /** A data key: its plaintext (enclave memory only) and the broker's wrapped blob (stored with the data). */
  public record DataKey(byte[] key, byte[] wrapped) {
  }

  /** The broker refused (the message is the broker's reason). */
  public static final class RefusedException extends IOException {
    public RefusedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final ManagedChannel channel;
  private final KeyBrokerGrpc.KeyBrokerBlockingStub stub;
  private final EvidenceSource platform;
  private final HpkeKeyPair enclaveKey;
  private final Hpke hpke = new Hpke();

  public KeyBrokerClient(InetSocketAddress address, String caCertificatePem, String serverName, EvidenceSource platform,
                         HpkeKeyPair enclaveKey) throws IOException {
    X509Certificate ca;
    try {
      ca = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(caCertificatePem.getBytes(StandardCharsets.US_ASCII)));
    } catch (CertificateException e) {
      throw new IOException("key_broker.ca_certificate_pem is not a certificate: " + e.getMessage(), e);
    }
    TrustManagerFactory trust;
    try {
      KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
      anchors.load(null, null);
      anchors.setCertificateEntry("key-broker-ca", ca);
      trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(anchors);
    } catch (GeneralSecurityException e) {
      throw new IOException("key_broker.ca_certificate_pem cannot anchor TLS: " + e.getMessage(), e);
    }
    // the transport is whichever gRPC finds (the enclave image carries OkHttp only, a host Netty): the
    // broker's certificate is checked against the pinned CA and the configured server name either way
    this.channel = Grpc.newChannelBuilderForAddress(address.getHostString(), address.getPort(),
            TlsChannelCredentials.newBuilder().trustManager(trust.getTrustManagers()).build())
        .overrideAuthority(serverName)
        .build();
    this.stub = KeyBrokerGrpc.newBlockingStub(channel);
    this.platform = platform;
    this.enclaveKey = enclaveKey;
  }

  public DataKey generateDataKey(String keyId, Map<String, String> context) throws IOException {
    Recipient r = recipient();
    try {
      GenerateDataKeyResponse resp = stub.withDeadlineAfter(30, TimeUnit.SECONDS).generateDataKey(
          GenerateDataKeyRequest.newBuilder().setKeyId(keyId).putAllEncryptionContext(context).setRecipient(r).build());
      return new DataKey(open("GenerateDataKey", keyId, r, resp.getCiphertextForRecipient()),
          resp.getCiphertextBlob().toByteArray());
    } catch (StatusRuntimeException e) {
      throw refused("GenerateDataKey", keyId, e);
    }
  }

  public byte[] decrypt(String keyId, byte[] wrapped, Map<String, String> context) throws IOException {
    Recipient r = recipient();
    try {
      return open("Decrypt", keyId, r, stub.withDeadlineAfter(30, TimeUnit.SECONDS).decrypt(DecryptRequest.newBuilder()
          .setKeyId(keyId).setCiphertextBlob(ByteString.copyFrom(wrapped)).putAllEncryptionContext(context)
          .setRecipient(r).build()).getCiphertextForRecipient());
    } catch (StatusRuntimeException e) {
      throw refused("Decrypt", keyId, e);
    }
  }

  private Recipient recipient() throws IOException {
    ByteString nonce;
    try {
      nonce = stub.withDeadlineAfter(30, TimeUnit.SECONDS).getChallenge(ChallengeRequest.getDefaultInstance()).getNonce();
    } catch (StatusRuntimeException e) {
      throw refused("GetChallenge", "-", e);
    }
    return Recipient.newBuilder().setEvidence(platform.evidence(nonce.toByteArray(), null, enclaveKey.publicKey()))
        .setNonce(nonce).build();
  }

  private byte[] open(String op, String keyId, Recipient r, ByteString sealed) throws IOException {
    byte[] aad = RecipientAad.newBuilder().setOperation(op).setKeyId(keyId).setNonce(r.getNonce()).build().toByteArray();
    try {
      return hpke.open(enclaveKey, sealed.toByteArray(), RECIPIENT_INFO, aad);
    } catch (HpkeException | IllegalArgumentException e) {
      throw new IOException("the key broker's answer does not open with this enclave's key: " + e.getMessage(), e);
    }
  }

  private static RefusedException refused(String op, String keyId, StatusRuntimeException e) {
    return new RefusedException("key broker refused " + op + " for key " + keyId + ": " + e.getStatus().getCode()
        + ": " + e.getStatus().getDescription(), e);
  }

  @Override
  public void close() {
    channel.shutdownNow();
  }
}
