package org.cloister.inference.enclave;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Arrays;
import org.cloister.inference.client.InferenceSealing;
import org.cloister.protocol.v1.DropModelRequest;
import org.cloister.protocol.v1.DropModelResponse;
import org.cloister.protocol.v1.InferenceAdminGrpc;
import org.cloister.protocol.v1.InferenceAttestation;
import org.cloister.protocol.v1.InferenceAttestationRequest;
import org.cloister.protocol.v1.InferenceGrpc;
import org.cloister.protocol.v1.InferenceQuery;
import org.cloister.protocol.v1.InferenceResult;
import org.cloister.protocol.v1.Predictions;
import org.cloister.protocol.v1.SealedInferenceRequest;
import org.cloister.protocol.v1.SealedInferenceResponse;
import org.cloister.protocol.v1.ServedModel;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeException;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference enclave's services. {@code Attest}: a document binding the caller's nonce, this
 * enclave's HPKE key and the {@link ServedModel}. {@code Infer}: opens the sealed query, checks it
 * (feature count, finite values, batch size), scores it and seals the result under the reply key
 * exported from the query's HPKE context. Input errors are answered sealed too (they name rows and
 * columns, never values) and the service goes on. Nothing of a query or a prediction is logged or
 * written; each request leaves one audit record without payload.
 */
final class InferenceService {
  private static final Logger log = LoggerFactory.getLogger(InferenceService.class);

  private final InferencePolicy policy;
  private final ServedModel served;
  /** The policy's model card (canonical JSON), sent with each attestation; its SHA-256 is in {@link #served}. */
  private final com.google.protobuf.ByteString modelCard;
  private final HpkeKeyPair key;
  private final org.cloister.enclave.runtime.EvidenceSource platform;
  private final ServedNetwork network;
  private final AuditTrail audit;
  private final Hpke hpke = new Hpke(); // stateless and thread-safe: shared by gRPC's threads

  InferenceService(InferencePolicy policy, ServedModel served, HpkeKeyPair key, org.cloister.enclave.runtime.EvidenceSource platform,
                   ServedNetwork network, AuditTrail audit) {
    this.policy = policy;
    this.served = served;
    this.modelCard = policy.modelCard() == null ? com.google.protobuf.ByteString.EMPTY
        : com.google.protobuf.ByteString.copyFrom(policy.modelCard().toJson());
    this.key = key;
    this.platform = platform;
    this.network = network;
    this.audit = audit;
  }

  /** The client-facing service (relayed by the host). */
  InferenceGrpc.InferenceImplBase inference() {
    return new InferenceGrpc.InferenceImplBase() {
      @Override
      public void attest(InferenceAttestationRequest req, StreamObserver<InferenceAttestation> out) {
        int n = req.getNonce().size();
        if (n < 16 || n > 64) {
          out.onError(Status.INVALID_ARGUMENT.withDescription("nonce must be 16..64 bytes, got " + n).asRuntimeException());
          return;
        }
        out.onNext(InferenceAttestation.newBuilder()
            .setEvidence(platform.evidence(req.getNonce().toByteArray(), served.toByteArray(), key.publicKey()))
            .setModelCard(modelCard).build());
        out.onCompleted();
      }

      @Override
      public void infer(SealedInferenceRequest req, StreamObserver<SealedInferenceResponse> out) {
        try {
          out.onNext(answer(req));
          out.onCompleted();
        } catch (io.grpc.StatusRuntimeException e) {
          out.onError(e);
        } catch (RuntimeException e) {
          log.error("inference request failed: {}", e.getClass().getSimpleName()); // no message: it could carry input
          out.onError(Status.INTERNAL.withDescription("internal error").asRuntimeException());
        }
      }
    };
  }

  /** The host-only admin service (the enclave's local channel). */
  InferenceAdminGrpc.InferenceAdminImplBase admin() {
    return new InferenceAdminGrpc.InferenceAdminImplBase() {
      @Override
      public void dropModel(DropModelRequest req, StreamObserver<DropModelResponse> out) {
        boolean dropped = network.drop();
        audit.event("model_dropped", java.util.Map.of("model_version", served.getModelVersion(),
            "was_loaded", dropped, "reason", req.getReason().length() > 200 ? req.getReason().substring(0, 200)
                : req.getReason()));
        log.warn("model version {} dropped on request ({})", served.getModelVersion(), dropped ? "erased" : "already gone");
        out.onNext(DropModelResponse.newBuilder().setDropped(dropped).build());
        out.onCompleted();
      }
    };
  }

  private SealedInferenceResponse answer(SealedInferenceRequest req) {
    String requestId;
    try {
      requestId = InferenceSealing.checkRequestId(req.getRequestId());
    } catch (IllegalArgumentException e) {
      throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
    }
    if (!network.loaded()) {
      audit.request(served.getModelVersion(), req.getClientId(), requestId, 0, "no_model");
      throw Status.FAILED_PRECONDITION.withDescription("the model was dropped (key revoked): this enclave serves no "
          + "more predictions").asRuntimeException();
    }
    byte[] aad = InferenceSealing.aad(requestId, served.getStudyId(), served.getModelVersion());
    Hpke.OpenedWithSecret opened;
    try {
      opened = hpke.openAndExport(key, req.getPayload().toByteArray(), InferenceSealing.QUERY_INFO, aad,
          InferenceSealing.REPLY_EXPORT, InferenceSealing.REPLY_KEY_BYTES);
    } catch (HpkeException | IllegalArgumentException e) {
      audit.request(served.getModelVersion(), req.getClientId(), requestId, 0, "undecryptable");
      throw Status.INVALID_ARGUMENT.withDescription("the query does not open with this enclave's key for request "
          + requestId + " (sealed to another enclave or model version, or altered)").asRuntimeException();
    }
    byte[] plain = opened.plaintext();
    InferenceResult result;
    int rows = 0;
    try {
      InferenceQuery q = InferenceQuery.parseFrom(plain);
      rows = q.getNumFeatures() == 0 ? 0 : q.getValuesCount() / q.getNumFeatures();
      String error = check(q);
      if (error != null) {
        result = InferenceResult.newBuilder().setInputError(error).build();
      } else {
        float[] features = new float[q.getValuesCount()];
        for (int i = 0; i < features.length; i++) {
          features[i] = (float) q.getValues(i);
        }
        float[] p;
        try {
          p = network.probabilities(features, rows);
        } catch (IllegalStateException e) {
          audit.request(served.getModelVersion(), req.getClientId(), requestId, rows, "no_model");
          throw Status.FAILED_PRECONDITION.withDescription("the model was dropped (key revoked)").asRuntimeException();
        } finally {
          Arrays.fill(features, 0f);
        }
        Predictions.Builder pb = Predictions.newBuilder().setModelVersion(served.getModelVersion())
            .setNumClasses(policy.numClasses());
        for (float v : p) {
          pb.addProbabilities(v);
        }
        Arrays.fill(p, 0f);
        result = InferenceResult.newBuilder().setPredictions(pb).build();
      }
    } catch (InvalidProtocolBufferException e) {
      result = InferenceResult.newBuilder().setInputError("the query is not an InferenceQuery message").build();
    } finally {
      Arrays.fill(plain, (byte) 0);
    }
    byte[] sealed = InferenceSealing.sealReply(opened.exportedSecret(), aad, result.toByteArray());
    Arrays.fill(opened.exportedSecret(), (byte) 0);
    audit.request(served.getModelVersion(), req.getClientId(), requestId, rows,
        result.hasInputError() ? "input_error" : "ok");
    return SealedInferenceResponse.newBuilder().setRequestId(requestId).setPayload(ByteString.copyFrom(sealed)).build();
  }

  /** What is wrong with a query (rows and columns named, never values), or null. */
  private String check(InferenceQuery q) {
    int nf = q.getNumFeatures();
    if (nf != policy.numFeatures()) {
      return "each row must have " + policy.numFeatures() + " features, the query has " + nf;
    }
    int n = q.getValuesCount();
    if (n == 0) {
      return "the query has no rows";
    }
    if (n % nf != 0) {
      return "the query has " + n + " values, not a whole number of rows of " + nf + " features";
    }
    int rows = n / nf;
    if (rows > policy.maxBatchRows()) {
      return "the query has " + rows + " rows, at most " + policy.maxBatchRows() + " are scored at once";
    }
    for (int i = 0; i < n; i++) {
      double v = q.getValues(i);
      if (!Double.isFinite(v) || Math.abs(v) > Float.MAX_VALUE) {
        return "row " + (i / nf + 1) + ", feature " + (i % nf + 1) + " is " + (Double.isNaN(v) ? "NaN" : Double.isInfinite(v) ? "infinite" : "out of float range")
            + " (every feature must be a finite number)";
      }
    }
    return null;
  }
}
