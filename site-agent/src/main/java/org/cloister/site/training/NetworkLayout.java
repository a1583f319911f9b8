package org.cloister.site.training;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Where each layer's parameters sit in the network's flat gradient array, with per-parameter
 * views (the same views DL4J's own backpropagation writes into).
 */
final class NetworkLayout {
  private final INDArray flatGradient;
  private final List<Map<String, INDArray>> views = new ArrayList<>();
  private final long[] offsets;
  private final long[] lengths;

  NetworkLayout(MultiLayerNetwork net) {
    if (net.getGradientsViewArray() == null) {
      net.initGradientsView();
    }
    this.flatGradient = net.getGradientsViewArray();
    int n = net.getnLayers();
    offsets = new long[n];
    lengths = new long[n];
    long off = 0;
    for (int i = 0; i < n; i++) {
      NeuralNetConfiguration conf = net.getLayerWiseConfigurations().getConf(i);
      long len = conf.getLayer().initializer().numParams(conf);
      offsets[i] = off;
      lengths[i] = len;
      if (len == 0) {
        views.add(Collections.emptyMap());
      } else {
        INDArray segment = flatGradient.get(NDArrayIndex.interval(0, 0, true), NDArrayIndex.interval(off, off + len));
        views.add(new LinkedHashMap<>(conf.getLayer().initializer().getGradientsFromFlattened(conf, segment)));
      }
      off += len;
    }
    if (off != flatGradient.length()) {
      throw new IllegalStateException("layer parameter counts add up to " + off + " but the network has "
          + flatGradient.length());
    }
  }

  INDArray flatGradient() {
    return flatGradient;
  }

  int layers() {
    return offsets.length;
  }

  Map<String, INDArray> gradientViews(int layer) {
    return views.get(layer);
  }

  long offset(int layer) {
    return offsets[layer];
  }

  long length(int layer) {
    return lengths[layer];
  }

  /** The flat gradient as DL4J's updater expects it (keys "layer_param"). */
  Gradient asDl4jGradient() {
    Gradient g = new DefaultGradient(flatGradient);
    for (int i = 0; i < views.size(); i++) {
      for (Map.Entry<String, INDArray> e : views.get(i).entrySet()) {
        g.setGradientFor(i + "_" + e.getKey(), e.getValue());
      }
    }
    return g;
  }
}
