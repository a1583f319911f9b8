package org.cloister.data;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A site's held-out split for federated evaluation: each row is held out or trained on according to a keyed
 * hash (HMAC-SHA256) of the row's own values, so the split is deterministic (the same rows every round and
 * after a restart) and <b>stable under adding or removing a record</b>: no other row changes side. That is what
 * the accounting needs. A neighbouring dataset differs in one record of the training split or one of the
 * held-out split, never in several (a split by shuffled row positions would move many rows when one is
 * added), so composing the training event and the evaluation event bounds both cases.
 *
 * @param train   the rows DP-SGD samples from (its dataset size is this split's)
 * @param holdout the rows only ever scored, never trained on
 */
public record HoldoutSplit(Dataset train, Dataset holdout, int[] trainRows, int[] holdoutRows) {

  /**
   * Splits {@code data} (rows of {@code keyRows}, the same rows before preprocessing, decide the side).
   *
   * @param fraction the expected fraction held out, in (0, 1)
   * @param key      the split's key (e.g. the dataset's fingerprint): the same key, the same split
   */
  public static HoldoutSplit of(Dataset keyRows, Dataset data, double fraction, String key) {
    if (!(fraction > 0 && fraction < 1)) {
      throw new IllegalArgumentException("the held-out fraction must be in (0, 1), got " + fraction);
    }
    if (keyRows.size() != data.size()) {
      throw new IllegalArgumentException("the split's key rows (" + keyRows.size() + ") are not the data's rows ("
          + data.size() + ")");
    }
    Mac mac;
    try {
      mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(("cloister-holdout-v1:" + key).getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
    // held out when the row's hash, as a fraction of 2^64, is below the fraction
    double threshold = fraction * 0x1.0p64;
    List<Integer> train = new ArrayList<>();
    List<Integer> held = new ArrayList<>();
    for (int i = 0; i < keyRows.size(); i++) {
      ByteBuffer row = ByteBuffer.allocate(8 * keyRows.numFeatures() + 4);
      for (double v : keyRows.features()[i]) {
        row.putDouble(v);
      }
      row.putInt(keyRows.labels()[i]);
      long h = ByteBuffer.wrap(mac.doFinal(row.array())).getLong();
      double unsigned = (h >>> 1) * 2.0 + (h & 1);
      (unsigned < threshold ? held : train).add(i);
    }
    int[] t = train.stream().mapToInt(Integer::intValue).toArray();
    int[] h = held.stream().mapToInt(Integer::intValue).toArray();
    return new HoldoutSplit(data.subset(t), data.subset(h), t, h);
  }
}
