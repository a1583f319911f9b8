package org.cloister.inference.enclave;

import java.util.Arrays;
import java.util.List;

/**
 * The inference enclave's model evaluator, in plain Java: the forward pass of the built-in dense
 * architectures from their flat published parameters, so the trusted computing base holds no
 * DL4J/ND4J (tens of thousands of classes and native BLAS) to score a model.
 *
 * <p>Supported, by name ({@link #SUPPORTED}), with the model zoo's shapes and parameter layout
 * (DL4J's flattening: per layer, in order, the weights {@code W[nIn][nOut]} in column-major order,
 * then the bias {@code b[nOut]}):
 * <ul>
 *   <li>{@code logreg}: softmax(x W + b);</li>
 *   <li>{@code mlp}: relu(x W1 + b1) of width {@value #MLP_WIDTH}, then softmax;</li>
 *   <li>{@code skipmlp} (a graph): h1 = relu(x W1 + b1), h2 = relu(h1 W2 + b2), both of width
 *       {@value #SKIP_WIDTH}, then softmax([x, h1 + h2] W3 + b3).</li>
 * </ul>
 * Any other architecture ({@code cnn}, plug-ins) is refused by name: the enclave does not guess.
 * Sums are taken in double and the probabilities rounded to float; {@code DenseKernelTest} checks
 * every built-in against DL4J's own {@code output} on the host side.
 *
 * <p>Stateless between calls apart from {@link #wipe()}; callers serialize {@code wipe} against
 * evaluation ({@link ServedNetwork}).
 */
final class DenseKernel {
  /** The architectures this kernel evaluates. */
  static final List<String> SUPPORTED = List.of("logreg", "mlp", "skipmlp");
  /** {@code ModelZoo.mlp()}'s hidden width. */
  static final int MLP_WIDTH = 32;
  /** {@code ModelZoo.skipMlp(32)}'s width, the built-in {@code skipmlp}. */
  static final int SKIP_WIDTH = 32;

  private final String name;
  private final int numFeatures;
  private final int numClasses;
  private final Dense[] layers;

  /** A fully connected layer: {@code w} column-major {@code [nIn][nOut]} (DL4J's order), then its bias. */
  private record Dense(int nIn, int nOut, float[] w, float[] b) {
    /** {@code out[j] = b[j] + sum_i in[i] w[i + j nIn]}, optionally through ReLU. */
    void forward(double[] in, double[] out, boolean relu) {
      for (int j = 0; j < nOut; j++) {
        double s = b[j];
        int col = j * nIn;
        for (int i = 0; i < nIn; i++) {
          s += in[i] * w[col + i];
        }
        out[j] = relu && s < 0 ? 0 : s;
      }
    }
  }

  private DenseKernel(String name, int numFeatures, int numClasses, Dense[] layers) {
    this.name = name;
    this.numFeatures = numFeatures;
    this.numClasses = numClasses;
    this.layers = layers;
  }

  /**
   * The kernel for {@code modelName} with these weights (copied; the caller wipes its array).
   *
   * @throws IllegalArgumentException naming the model if it is not supported, or if the parameter
   *                                  count is not the architecture's for this shape
   */
  static DenseKernel of(String modelName, int numFeatures, int numClasses, float[] params) {
    if (numFeatures < 1 || numClasses < 2) {
      throw new IllegalArgumentException("model " + modelName + ": " + numFeatures + " features and " + numClasses
          + " classes (at least 1 and 2)");
    }
    int[][] shapes = shapes(modelName, numFeatures, numClasses);
    long expected = 0;
    for (int[] s : shapes) {
      expected += (long) s[0] * s[1] + s[1];
    }
    if (params.length != expected) {
      throw new IllegalArgumentException("model " + modelName + " with " + numFeatures + " features and " + numClasses
          + " classes has " + expected + " parameters, the artifact has " + params.length);
    }
    for (int i = 0; i < params.length; i++) {
      if (!Float.isFinite(params[i])) {
        throw new IllegalArgumentException("model " + modelName + ": parameter " + i + " is not finite");
      }
    }
    Dense[] layers = new Dense[shapes.length];
    int at = 0;
    for (int l = 0; l < shapes.length; l++) {
      int nIn = shapes[l][0];
      int nOut = shapes[l][1];
      float[] w = Arrays.copyOfRange(params, at, at + nIn * nOut);
      at += nIn * nOut;
      float[] b = Arrays.copyOfRange(params, at, at + nOut);
      at += nOut;
      layers[l] = new Dense(nIn, nOut, w, b);
    }
    return new DenseKernel(modelName, numFeatures, numClasses, layers);
  }

  /** {nIn, nOut} of each layer, in parameter order. */
  private static int[][] shapes(String modelName, int nIn, int k) {
    return switch (modelName) {
      case "logreg" -> new int[][] {{nIn, k}};
      case "mlp" -> new int[][] {{nIn, MLP_WIDTH}, {MLP_WIDTH, k}};
      case "skipmlp" -> new int[][] {{nIn, SKIP_WIDTH}, {SKIP_WIDTH, SKIP_WIDTH}, {nIn + SKIP_WIDTH, k}};
      default -> throw new IllegalArgumentException("model '" + modelName + "' is not supported by the inference "
          + "enclave (it evaluates " + String.join(", ", SUPPORTED) + ")");
    };
  }

  /** Class probabilities, row-major {@code [rows][numClasses]}, for {@code rows} rows of features. */
  float[] probabilities(float[] features, int rows) {
    if (rows < 1 || features.length != (long) rows * numFeatures) {
      throw new IllegalArgumentException(rows + " rows of " + numFeatures + " features need "
          + (long) rows * numFeatures + " values, got " + features.length);
    }
    float[] out = new float[rows * numClasses];
    double[] x = new double[numFeatures];
    double[] logits = new double[numClasses];
    double[] h1 = name.equals("logreg") ? null : new double[layers[0].nOut()];
    double[] h2 = name.equals("skipmlp") ? new double[SKIP_WIDTH] : null;
    double[] merged = name.equals("skipmlp") ? new double[numFeatures + SKIP_WIDTH] : null;
    try {
      for (int r = 0; r < rows; r++) {
        for (int i = 0; i < numFeatures; i++) {
          x[i] = features[r * numFeatures + i];
        }
        switch (name) {
          case "logreg" -> layers[0].forward(x, logits, false);
          case "mlp" -> {
            layers[0].forward(x, h1, true);
            layers[1].forward(h1, logits, false);
          }
          case "skipmlp" -> {
            layers[0].forward(x, h1, true);
            layers[1].forward(h1, h2, true);
            System.arraycopy(x, 0, merged, 0, numFeatures);
            for (int i = 0; i < SKIP_WIDTH; i++) {
              merged[numFeatures + i] = h1[i] + h2[i];
            }
            layers[2].forward(merged, logits, false);
          }
          default -> throw new IllegalStateException(name);
        }
        softmax(logits, out, r * numClasses);
      }
      return out;
    } finally {
      // intermediate values derived from the query: not left in memory
      Arrays.fill(x, 0);
      Arrays.fill(logits, 0);
      if (h1 != null) {
        Arrays.fill(h1, 0);
      }
      if (h2 != null) {
        Arrays.fill(h2, 0);
        Arrays.fill(merged, 0);
      }
    }
  }

  private static void softmax(double[] z, float[] out, int at) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : z) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (double v : z) {
      sum += Math.exp(v - max);
    }
    for (int j = 0; j < z.length; j++) {
      out[at + j] = (float) (Math.exp(z[j] - max) / sum);
    }
  }

  /** Overwrites the weights. The kernel must not be used afterwards. */
  void wipe() {
    for (Dense d : layers) {
      Arrays.fill(d.w(), 0f);
      Arrays.fill(d.b(), 0f);
    }
  }

  String name() {
    return name;
  }
}
