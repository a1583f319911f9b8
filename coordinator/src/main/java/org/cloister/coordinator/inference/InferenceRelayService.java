package org.cloister.coordinator.inference;

import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import org.cloister.coordinator.service.SiteIdentity;
import org.cloister.protocol.v1.InferenceAttestation;
import org.cloister.protocol.v1.InferenceAttestationRequest;
import org.cloister.protocol.v1.InferenceGrpc;
import org.cloister.protocol.v1.SealedInferenceRequest;
import org.cloister.protocol.v1.SealedInferenceResponse;

/**
 * The host's public inference endpoint: forwards {@code Attest} and {@code Infer} to the enclave
 * unchanged, except that it sets {@code client_id} to the caller's identity as the transport
 * established it (for the enclave's audit). It sees only nonces, attestation documents (public),
 * request ids, sizes and ciphertext.
 */
public final class InferenceRelayService extends InferenceGrpc.InferenceImplBase {
  private final InferenceGrpc.InferenceStub enclave;

  public InferenceRelayService(Channel enclave) {
    this.enclave = InferenceGrpc.newStub(enclave);
  }

  @Override
  public void attest(InferenceAttestationRequest request, StreamObserver<InferenceAttestation> out) {
    enclave.attest(request, out);
  }

  @Override
  public void infer(SealedInferenceRequest request, StreamObserver<SealedInferenceResponse> out) {
    String client = SiteIdentity.current();
    enclave.infer(request.toBuilder().setClientId(client == null ? "" : client).build(), out);
  }
}
