package org.cloister.inference.enclave;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.cloister.models.ModelZoo;
import org.cloister.models.Networks;
import org.cloister.models.Parameters;
import org.deeplearning4j.nn.api.Model;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The enclave's plain-Java kernel against DL4J's own {@code output} (the reference, host side only:
 * model-zoo is a test dependency of this module, not in the image): every built-in architecture is
 * evaluated as DL4J does, for several shapes, random (seeded) weights and inputs; other names are
 * refused. The same float weights in a DL4J network of data type DOUBLE must agree to 1e-6 (the
 * kernel sums in double); DL4J in FLOAT (what the enclave ran before, and what sites train in) to
 * 1e-5, its own float rounding of large logits being up to a few 1e-6 at these scales.
 */
class InferenceKernelTest {
  static final double TOLERANCE = 1e-6;
  static final double FLOAT_TOLERANCE = 1e-5;
  static final int ROWS = 200;

  @Test
  void everyBuiltInArchitectureIsEvaluatedAsDl4jDoesOrRefusedByName() {
    List<String> evaluated = new ArrayList<>();
    for (String name : ModelZoo.names()) {
      if (!InferenceKernel.SUPPORTED.contains(name)) {
        float[] params = new float[10];
        assertThatThrownBy(() -> InferenceKernel.of(name, 784, 10, params)) // a plug-in on the class path
            .as(name).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("model '" + name + "' is not supported by the inference enclave");
        continue;
      }
      long seed = 1;
      int[][] shapes = name.equals("cnn") ? new int[][] {{784, 10}, {784, 2}}
          : new int[][] {{30, 2}, {7, 3}, {1, 2}, {64, 10}};
      for (int[] shape : shapes) {
        compare(name, shape[0], shape[1], seed++);
      }
      evaluated.add(name);
    }
    // every built-in: logistic regression, the MLP, the graph model and the CNN
    assertThat(evaluated).containsExactlyInAnyOrder("logreg", "mlp", "skipmlp", "cnn");
  }

  private static void compare(String name, int nIn, int k, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed * 7919);
    Model reference = ModelZoo.newModel(ModelZoo.byName(name), nIn, k, seed, null, DataType.DOUBLE);
    float[] params = new float[(int) reference.numParams()];
    for (int i = 0; i < params.length; i++) {
      // smaller weights for the CNN's wide layers, so that its outputs do not saturate to one class
      params[i] = (float) (gaussian(rnd) * (name.equals("cnn") ? 0.1 : 0.4));
    }
    float[] x = new float[ROWS * nIn];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (gaussian(rnd) * 1.5);
    }
    x[3 % x.length] = 40f; // a large value: saturated outputs agree too
    float[] got = InferenceKernel.of(name, nIn, k, params.clone()).probabilities(x, ROWS);

    Parameters.set(reference, params);
    double[] xd = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      xd[i] = x[i];
    }
    float[] exact = flat(Networks.output(reference, Nd4j.create(xd, new long[] {ROWS, nIn}, 'c')));
    assertThat(worst(got, exact)).as("%s %d->%d: largest |kernel - DL4J double| over %d rows", name, nIn, k, ROWS)
        .isLessThanOrEqualTo(TOLERANCE);

    Model asServedBefore = ModelZoo.newModel(ModelZoo.byName(name), nIn, k, seed, null, DataType.FLOAT);
    Parameters.set(asServedBefore, params);
    float[] single = flat(Networks.output(asServedBefore, Nd4j.create(x, new long[] {ROWS, nIn}, 'c')));
    assertThat(worst(got, single)).as("%s %d->%d: largest |kernel - DL4J float| over %d rows", name, nIn, k, ROWS)
        .isLessThanOrEqualTo(FLOAT_TOLERANCE);
    // and the outputs are not trivially equal (all one class, or uniform)
    double spread = 0;
    for (int r = 0; r < ROWS; r++) {
      spread = Math.max(spread, Math.abs(exact[r * k] - exact[((r + 1) % ROWS) * k]));
    }
    assertThat(spread).as("%s: the reference outputs vary with the input", name).isGreaterThan(0.05);
  }

  private static float[] flat(INDArray out) {
    return out.castTo(DataType.FLOAT).dup('c').reshape(out.length()).toFloatVector();
  }

  private static double worst(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    double worst = 0;
    for (int i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
    return worst;
  }

  private static double gaussian(SplittableRandom r) {
    double u = r.nextDouble();
    double v = r.nextDouble();
    return Math.sqrt(-2 * Math.log1p(-u)) * Math.cos(2 * Math.PI * v);
  }

  @Test
  void aParameterCountThatIsNotTheArchitecturesIsRefused() {
    assertThatThrownBy(() -> InferenceKernel.of("logreg", 30, 2, new float[61]))
        .hasMessageContaining("model logreg with 30 features and 2 classes has 62 parameters, the artifact has 61");
    assertThatThrownBy(() -> InferenceKernel.of("mlp", 30, 2, new float[62]))
        .hasMessageContaining("has 1058 parameters");
  }

  @Test
  void unknownAndPlugInArchitecturesAreRefusedByName() {
    assertThatThrownBy(() -> InferenceKernel.of("resnet", 30, 2, new float[62]))
        .hasMessageContaining("model 'resnet' is not supported by the inference enclave (it evaluates logreg, mlp, skipmlp, cnn)");
    // the plug-in of examples/custom-model: DL4J could build it, the enclave does not guess its layout
    assertThatThrownBy(() -> InferenceKernel.of("mlp-64-32", 30, 2, new float[4162]))
        .hasMessageContaining("model 'mlp-64-32' is not supported by the inference enclave");
  }

  @Test
  void nonFiniteWeightsAreRefused() {
    float[] p = new float[62];
    p[5] = Float.NaN;
    assertThatThrownBy(() -> InferenceKernel.of("logreg", 30, 2, p)).hasMessageContaining("parameter 5 is not finite");
  }

  @Test
  void aDroppedModelServesNothingAndItsWeightsAreOverwritten() {
    float[] w = new float[62];
    java.util.Arrays.fill(w, 0.5f);
    ServedNetwork served = new ServedNetwork(InferencePolicy.of("s", "logreg", 30, 2), w);
    float[] p = served.probabilities(new float[30], 1);
    assertThat(p[0] + p[1]).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(served.drop()).isTrue();
    assertThat(served.loaded()).isFalse();
    assertThat(served.drop()).isFalse();
    assertThatThrownBy(() -> served.probabilities(new float[30], 1)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("dropped");
  }

  @Test
  void wipeOverwritesTheWeights() {
    float[] w = new float[62];
    for (int i = 0; i < w.length; i++) {
      w[i] = i % 2 == 0 ? 0.3f : -0.2f;
    }
    InferenceKernel k = InferenceKernel.of("logreg", 30, 2, w);
    float[] x = new float[30];
    java.util.Arrays.fill(x, 1f);
    assertThat(k.probabilities(x, 1)[0]).isNotEqualTo(0.5f);
    k.wipe();
    assertThat(k.probabilities(x, 1)).containsExactly(0.5f, 0.5f); // all weights and biases are zero now
  }

  @Test
  void aCnnOfAnotherInputSizeIsRefusedNamingIt() {
    assertThatThrownBy(() -> new ServedNetwork(InferencePolicy.of("s", "cnn", 100, 10), new float[100]))
        .hasMessageContaining("model cnn takes 28x28 images (784 features), the policy has 100");
  }
}
