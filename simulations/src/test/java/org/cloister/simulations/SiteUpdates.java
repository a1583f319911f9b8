package org.cloister.simulations;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import java.util.Map;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SealedUpdate;
import org.cloister.protocol.v1.SignedSpend;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.agent.UpdateSealer;
import org.cloister.site.ledger.SpendSigner;
import org.cloister.trust.pki.IssuedCertificate;

/**
 * What an honest site sends the enclave for a round, produced by the real site code (its attested
 * sealer, which fetches and checks the enclave's round challenge, and its certificate key signing
 * the spend and the contribution statement), as the coordinator forwards it.
 */
final class SiteUpdates {
  private SiteUpdates() {
  }

  static SealedUpdate signed(SecureAggregationStack stack, IssuedCertificate cert, String site, long examples,
                             RoundTask task, float[] values, Channel coordinator) {
    UpdateSealer.Sealed sealed = stack.sealer(site, coordinator).seal(task, values);
    SpendSigner signer = new SpendSigner(site, cert.privateKey(), cert.certificate(), 1e-5, "ds-" + site);
    SignedSpend spend = signer.sign(task, LocalUpdate.nonPrivate(values, examples, Map.of()));
    return SealedUpdate.newBuilder().setSiteId(site).setNumExamples(examples)
        .setBaseModelVersion(task.getModel().getVersion()).setPayloadFormat(sealed.format())
        .setPayload(ByteString.copyFrom(sealed.payload()))
        .setContribution(signer.signContribution(task, examples, sealed.format(), sealed.payload(),
            sealed.roundChallenge(), sealed.baseModelSha256(), spend))
        .build();
  }
}
