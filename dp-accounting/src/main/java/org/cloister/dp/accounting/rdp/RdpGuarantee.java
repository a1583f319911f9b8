package org.cloister.dp.accounting.rdp;

/**
 * An (epsilon, delta)-DP guarantee obtained from an RDP curve, with the Rényi order at which the
 * conversion was tightest.
 */
public record RdpGuarantee(double epsilon, double delta, double optimalOrder) {
}
