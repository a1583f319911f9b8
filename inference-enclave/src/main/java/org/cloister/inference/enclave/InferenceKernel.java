package org.cloister.inference.enclave;

import java.util.Arrays;
import java.util.List;

/**
 * The inference enclave's model evaluator, in plain Java: the forward pass of the built-in
 * architectures from their flat published parameters, so the trusted computing base holds no
 * DL4J/ND4J (tens of thousands of classes and native BLAS) to score a model.
 *
 * <p>Supported, by name ({@link #SUPPORTED}), with the model zoo's shapes and parameter layout
 * (DL4J's flattening: per dense layer, in order, the weights {@code W[nIn][nOut]} in column-major order,
 * then the bias {@code b[nOut]}):
 * <ul>
 *   <li>{@code logreg}: softmax(x W + b);</li>
 *   <li>{@code mlp}: relu(x W1 + b1) of width {@value #MLP_WIDTH}, then softmax;</li>
 *   <li>{@code skipmlp} (a graph): h1 = relu(x W1 + b1), h2 = relu(h1 W2 + b2), both of width
 *       {@value #SKIP_WIDTH}, then softmax([x, h1 + h2] W3 + b3);</li>
 *   <li>{@code cnn} (28x28 single-channel images, 784 inputs read row by row): convolution 5x5x8
 *       (stride 1, no padding) and ReLU, max-pool 2x2, convolution 5x5x16 and ReLU, max-pool 2x2, dense
 *       64 and ReLU on the channel-major flattening, softmax. A convolution's parameters are, as in DL4J,
 *       its bias first, then its kernels {@code W[nOut][nIn][kH][kW]} in row-major order.</li>
 * </ul>
 * Any other architecture (plug-ins) is refused by name: the enclave does not guess.
 * Sums are taken in double and the probabilities rounded to float; {@code InferenceKernelTest} checks
 * every built-in against DL4J's own {@code output} on the host side.
 *
 * <p>Stateless between calls apart from {@link #wipe()}; callers serialize {@code wipe} against
 * evaluation ({@link ServedNetwork}).
 */
final class InferenceKernel {
  /** The architectures this kernel evaluates. */
  static final List<String> SUPPORTED = List.of("logreg", "mlp", "skipmlp", "cnn");
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

  /** A 2-D convolution (stride 1, no padding) of square {@code k x k} kernels {@code w[nOut][nIn][k][k]}, bias {@code b}. */
  private record Conv(int nIn, int nOut, int k, float[] w, float[] b) {
    /** {@code in[nIn][h][h]} to {@code relu(out[nOut][h-k+1][h-k+1])}. */
    void forwardRelu(double[] in, int h, double[] out) {
      int o = h - k + 1;
      for (int f = 0; f < nOut; f++) {
        for (int y = 0; y < o; y++) {
          for (int x = 0; x < o; x++) {
            double s = b[f];
            for (int c = 0; c < nIn; c++) {
              int wBase = ((f * nIn + c) * k) * k;
              int inBase = c * h * h;
              for (int ky = 0; ky < k; ky++) {
                int row = inBase + (y + ky) * h + x;
                int wRow = wBase + ky * k;
                for (int kx = 0; kx < k; kx++) {
                  s += in[row + kx] * w[wRow + kx];
                }
              }
            }
            out[(f * o + y) * o + x] = s < 0 ? 0 : s;
          }
        }
      }
    }
  }

  /** 2x2 max-pooling, stride 2: {@code in[c][h][h]} to {@code out[c][h/2][h/2]}. */
  private static void maxPool2(double[] in, int channels, int h, double[] out) {
    int o = h / 2;
    for (int c = 0; c < channels; c++) {
      for (int y = 0; y < o; y++) {
        for (int x = 0; x < o; x++) {
          int i = (c * h + 2 * y) * h + 2 * x;
          out[(c * o + y) * o + x] = Math.max(Math.max(in[i], in[i + 1]), Math.max(in[i + h], in[i + h + 1]));
        }
      }
    }
  }

  /** {@code ModelZoo.cnn()}'s image side, kernels and widths. */
  static final int CNN_SIDE = 28;
  private static final int CNN_K = 5;
  private static final int CNN_C1 = 8;
  private static final int CNN_C2 = 16;
  private static final int CNN_DENSE = 64;
  /** Side after conv, pool, conv, pool: ((28 - 4) / 2 - 4) / 2 = 4. */
  private static final int CNN_FLAT = CNN_C2 * 4 * 4;

  private final Conv[] convs;

  private InferenceKernel(String name, int numFeatures, int numClasses, Conv[] convs, Dense[] layers) {
    this.name = name;
    this.numFeatures = numFeatures;
    this.numClasses = numClasses;
    this.convs = convs;
    this.layers = layers;
  }

  /**
   * The kernel for {@code modelName} with these weights (copied; the caller wipes its array).
   *
   * @throws IllegalArgumentException naming the model if it is not supported, or if the parameter
   *                                  count is not the architecture's for this shape
   */
  static InferenceKernel of(String modelName, int numFeatures, int numClasses, float[] params) {
    if (numFeatures < 1 || numClasses < 2) {
      throw new IllegalArgumentException("model " + modelName + ": " + numFeatures + " features and " + numClasses
          + " classes (at least 1 and 2)");
    }
    if (modelName.equals("cnn") && numFeatures != CNN_SIDE * CNN_SIDE) {
      throw new IllegalArgumentException("model cnn takes 28x28 images (784 features), the policy has " + numFeatures);
    }
    int[][] convShapes = modelName.equals("cnn") ? new int[][] {{1, CNN_C1}, {CNN_C1, CNN_C2}} : new int[0][];
    int[][] shapes = shapes(modelName, numFeatures, numClasses);
    long expected = 0;
    for (int[] s : convShapes) {
      expected += (long) s[1] + (long) s[0] * s[1] * CNN_K * CNN_K;
    }
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
    int at = 0;
    Conv[] convs = new Conv[convShapes.length];
    for (int l = 0; l < convShapes.length; l++) {
      int nIn = convShapes[l][0];
      int nOut = convShapes[l][1];
      float[] b = Arrays.copyOfRange(params, at, at + nOut); // DL4J: a convolution's bias comes first
      at += nOut;
      float[] w = Arrays.copyOfRange(params, at, at + nOut * nIn * CNN_K * CNN_K);
      at += nOut * nIn * CNN_K * CNN_K;
      convs[l] = new Conv(nIn, nOut, CNN_K, w, b);
    }
    Dense[] layers = new Dense[shapes.length];
    for (int l = 0; l < shapes.length; l++) {
      int nIn = shapes[l][0];
      int nOut = shapes[l][1];
      float[] w = Arrays.copyOfRange(params, at, at + nIn * nOut);
      at += nIn * nOut;
      float[] b = Arrays.copyOfRange(params, at, at + nOut);
      at += nOut;
      layers[l] = new Dense(nIn, nOut, w, b);
    }
    return new InferenceKernel(modelName, numFeatures, numClasses, convs, layers);
  }

  /** {nIn, nOut} of each layer, in parameter order. */
  private static int[][] shapes(String modelName, int nIn, int k) {
    return switch (modelName) {
      case "logreg" -> new int[][] {{nIn, k}};
      case "mlp" -> new int[][] {{nIn, MLP_WIDTH}, {MLP_WIDTH, k}};
      case "skipmlp" -> new int[][] {{nIn, SKIP_WIDTH}, {SKIP_WIDTH, SKIP_WIDTH}, {nIn + SKIP_WIDTH, k}};
      case "cnn" -> new int[][] {{CNN_FLAT, CNN_DENSE}, {CNN_DENSE, k}}; // after the convolutions
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
    boolean cnn = name.equals("cnn");
    int side1 = CNN_SIDE - CNN_K + 1;
    int side2 = side1 / 2 - CNN_K + 1;
    double[] c1 = cnn ? new double[CNN_C1 * side1 * side1] : null;
    double[] p1 = cnn ? new double[CNN_C1 * (side1 / 2) * (side1 / 2)] : null;
    double[] c2 = cnn ? new double[CNN_C2 * side2 * side2] : null;
    double[] p2 = cnn ? new double[CNN_FLAT] : null;
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
          case "cnn" -> {
            convs[0].forwardRelu(x, CNN_SIDE, c1);
            maxPool2(c1, CNN_C1, side1, p1);
            convs[1].forwardRelu(p1, side1 / 2, c2);
            maxPool2(c2, CNN_C2, side2, p2);
            layers[0].forward(p2, h1, true);
            layers[1].forward(h1, logits, false);
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
      if (cnn) {
        Arrays.fill(c1, 0);
        Arrays.fill(p1, 0);
        Arrays.fill(c2, 0);
        Arrays.fill(p2, 0);
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
    for (Conv c : convs) {
      Arrays.fill(c.w(), 0f);
      Arrays.fill(c.b(), 0f);
    }
    for (Dense d : layers) {
      Arrays.fill(d.w(), 0f);
      Arrays.fill(d.b(), 0f);
    }
  }

  String name() {
    return name;
  }
}
