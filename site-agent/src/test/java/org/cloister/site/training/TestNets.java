package org.cloister.site.training;

import java.util.Random;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/** Small double-precision networks and data for the tests. */
final class TestNets {
  private TestNets() {
  }

  static NeuralNetConfiguration.Builder base(long seed, IUpdater updater) {
    return new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.DOUBLE)
        .updater(updater).weightInit(WeightInit.XAVIER);
  }

  static MultiLayerNetwork init(MultiLayerConfiguration conf) {
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init();
    return net;
  }

  /** Dense tanh -> dense relu -> ActivationLayer(sigmoid) -> softmax output. */
  static MultiLayerNetwork mlp(int nIn, int classes, long seed) {
    return init(base(seed, new Sgd(0.1)).list()
        .layer(new DenseLayer.Builder().nIn(nIn).nOut(7).activation(Activation.TANH).build())
        .layer(new DenseLayer.Builder().nIn(7).nOut(6).activation(Activation.RELU).build())
        .layer(new ActivationLayer.Builder().activation(Activation.SIGMOID).build())
        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(6).nOut(classes).activation(Activation.SOFTMAX).build())
        .build());
  }

  /** One output layer with the given loss and activation (logistic regression and friends). */
  static MultiLayerNetwork single(int nIn, int classes, LossFunction loss, Activation act, long seed) {
    return init(base(seed, new Sgd(0.1)).list()
        .layer(new OutputLayer.Builder(loss).nIn(nIn).nOut(classes).activation(act).build())
        .build());
  }

  /** Dense layer without bias before the output. */
  static MultiLayerNetwork noBias(int nIn, int classes, long seed) {
    return init(base(seed, new Sgd(0.1)).list()
        .layer(new DenseLayer.Builder().nIn(nIn).nOut(5).hasBias(false).activation(Activation.ELU).build())
        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(5).nOut(classes).hasBias(false)
            .activation(Activation.SOFTMAX).build())
        .build());
  }

  /** Embedding (index input) -> dense -> output. */
  static MultiLayerNetwork embedding(int vocabulary, int classes, long seed) {
    return init(base(seed, new Sgd(0.1)).list()
        .layer(new EmbeddingLayer.Builder().nIn(vocabulary).nOut(4).activation(Activation.TANH).build())
        .layer(new DenseLayer.Builder().nIn(4).nOut(5).activation(Activation.RELU).build())
        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(5).nOut(classes).activation(Activation.SOFTMAX).build())
        .build());
  }

  /** A small CNN on h x w x channels images (flattened input), with configurable conv details. */
  static MultiLayerNetwork cnn(int h, int w, int channels, int classes, ConvolutionMode mode, int stride, int padding,
                               int dilation, SubsamplingLayer.PoolingType pooling, long seed) {
    return init(base(seed, new Sgd(0.1)).list()
        .layer(new ConvolutionLayer.Builder(3, 3).nOut(3).stride(stride, stride).padding(padding, padding)
            .dilation(dilation, dilation).convolutionMode(mode).activation(Activation.TANH).build())
        .layer(new SubsamplingLayer.Builder(pooling).kernelSize(2, 2).stride(2, 2).build())
        .layer(new ConvolutionLayer.Builder(2, 2).nOut(4).stride(1, 1).convolutionMode(ConvolutionMode.Same)
            .activation(Activation.RELU).build())
        .layer(new DenseLayer.Builder().nOut(6).activation(Activation.TANH).build())
        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(classes).activation(Activation.SOFTMAX).build())
        .setInputType(InputType.convolutionalFlat(h, w, channels))
        .build());
  }

  static INDArray gaussian(int rows, int cols, long seed) {
    Random r = new Random(seed);
    double[] d = new double[rows * cols];
    for (int i = 0; i < d.length; i++) {
      d[i] = r.nextGaussian();
    }
    return Nd4j.create(d, new long[] {rows, cols}, DataType.DOUBLE);
  }

  static INDArray indices(int rows, int vocabulary, long seed) {
    Random r = new Random(seed);
    double[] d = new double[rows];
    for (int i = 0; i < rows; i++) {
      d[i] = r.nextInt(vocabulary);
    }
    return Nd4j.create(d, new long[] {rows, 1}, DataType.DOUBLE);
  }

  static int[] labels(int rows, int classes, long seed) {
    Random r = new Random(seed);
    int[] l = new int[rows];
    for (int i = 0; i < rows; i++) {
      l[i] = r.nextInt(classes);
    }
    return l;
  }

  static INDArray oneHot(int[] labels, int classes) {
    INDArray y = Nd4j.zeros(DataType.DOUBLE, labels.length, classes);
    for (int i = 0; i < labels.length; i++) {
      y.putScalar(i, labels[i], 1.0);
    }
    return y;
  }

  /**
   * Independent reference: DL4J's own gradient (computeGradientAndScore) for one example at a time, clipped (flat,
   * over the whole parameter vector) and summed; a MultiLayerNetwork or a ComputationGraph.
   */
  static INDArray naiveClippedSum(org.deeplearning4j.nn.api.Model net, INDArray x, INDArray y, double clip,
                                  double[] normsOut) {
    INDArray sum = Nd4j.zeros(DataType.DOUBLE, 1, net.numParams());
    for (int i = 0; i < x.rows(); i++) {
      if (net instanceof MultiLayerNetwork m) {
        m.setInput(x.getRow(i, true).dup());
        m.setLabels(y.getRow(i, true).dup());
        m.computeGradientAndScore();
      } else {
        org.deeplearning4j.nn.graph.ComputationGraph g = (org.deeplearning4j.nn.graph.ComputationGraph) net;
        g.setInputs(x.getRow(i, true).dup());
        g.setLabels(y.getRow(i, true).dup());
        g.computeGradientAndScore();
      }
      INDArray g = net.gradient().gradient().dup().reshape(1, net.numParams());
      double norm = g.norm2Number().doubleValue();
      if (normsOut != null) {
        normsOut[i] = norm;
      }
      sum.addi(g.muli(Math.min(1.0, clip / norm)));
    }
    return sum;
  }

  /** A dataset from a feature matrix and labels. */
  static org.cloister.data.Dataset dataset(INDArray x, int[] labels, int classes) {
    java.util.List<String> f = new java.util.ArrayList<>();
    for (int j = 0; j < x.columns(); j++) {
      f.add("f" + j);
    }
    java.util.List<String> c = new java.util.ArrayList<>();
    for (int k = 0; k < classes; k++) {
      c.add("c" + k);
    }
    return new org.cloister.data.Dataset(f, "y", c, x.toDoubleMatrix(), labels);
  }

  static double relativeError(INDArray actual, INDArray expected) {
    INDArray a = actual.reshape(actual.length());
    INDArray e = expected.reshape(expected.length());
    return a.sub(e).norm2Number().doubleValue() / Math.max(1e-300, e.norm2Number().doubleValue());
  }
}
