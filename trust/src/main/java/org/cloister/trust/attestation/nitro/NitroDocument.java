package org.cloister.trust.attestation.nitro;

import java.util.List;
import java.util.SortedMap;

/**
 * A parsed, not yet verified, Nitro attestation document: the COSE_Sign1 parts and the payload fields.
 * Byte arrays are owned by this record (the codec creates them fresh); it never leaves the package.
 */
record NitroDocument(
    byte[] protectedHeader,
    byte[] payload,
    byte[] signature,
    String moduleId,
    long timestampMillis,
    String digest,
    SortedMap<Integer, byte[]> pcrs,
    byte[] certificate,
    List<byte[]> cabundle,
    byte[] publicKey,
    byte[] userData,
    byte[] nonce) {}
