package org.cloister.site.training;

import org.nd4j.linalg.api.ndarray.INDArray;

/** Computes sum_i clip(g_i) for a batch and writes it into the network's flat gradient array. */
interface ClippedGradients {
  /**
   * @param features the batch (rows are examples), null or zero rows for an empty batch
   * @param labels one-hot labels of the batch
   */
  ClippedBatch clippedSum(INDArray features, INDArray labels, ClipPolicy policy);
}
