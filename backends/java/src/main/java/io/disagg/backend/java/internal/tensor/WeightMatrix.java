package io.disagg.backend.java.internal.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A {@code rows × cols} weight matrix read in place from its encoded bytes (row-major, one row per output element),
 * so that {@code y[r] = dot(row r, x)}. Implementations decode on the fly inside the dot product and never copy the
 * matrix to the heap. Immutable and thread-safe; callers split the row range across threads.
 */
public sealed interface WeightMatrix permits F32Matrix, F16Matrix, Bf16Matrix, Q8_0Matrix, Q4_0Matrix,
    KQuantMatrix {

  /**
   * Wraps encoded row-major data.
   *
   * @throws IllegalArgumentException if {@code data} is not exactly {@code rows} rows of {@code cols} elements, or
   *     {@code cols} is not a whole number of blocks
   */
  static WeightMatrix of(WeightFormat format, MemorySegment data, int rows, int cols) {
    long expected = format.rowBytes(cols) * rows;
    if (data.byteSize() != expected) {
      throw new IllegalArgumentException("data: " + data.byteSize() + " bytes (expected: " + expected + " for "
          + rows + "×" + cols + " " + format + ")");
    }
    return switch (format) {
      case F32 -> new F32Matrix(data, rows, cols);
      case F16 -> new F16Matrix(data, rows, cols);
      case BF16 -> new Bf16Matrix(data, rows, cols);
      case Q8_0 -> new Q8_0Matrix(data, rows, cols);
      case Q4_0 -> new Q4_0Matrix(data, rows, cols);
      case Q4_K, Q5_K, Q6_K -> new KQuantMatrix(format, data, rows, cols);
    };
  }

  WeightFormat format();

  int rows();

  int cols();

  /** Encoded bytes: what one pass over the whole matrix reads from memory. */
  long byteSize();

  /** Dot product of row {@code row} with {@code x[xOffset .. xOffset + cols)}, using the vector kernel. */
  float dot(int row, float[] x, int xOffset);

  /** The same through the scalar twin. */
  float dotScalar(int row, float[] x, int xOffset);

  /**
   * Whether products with this matrix can take int8-quantised activations ({@link #dotQ8}): true for the
   * block-quantised formats, whose integer kernels are cheaper than decoding every weight to float.
   */
  default boolean takesQ8Activations() {
    return false;
  }

  /**
   * Dot product of row {@code row} with row {@code token} of int8-quantised activations, using the vector kernel.
   *
   * @throws UnsupportedOperationException unless {@link #takesQ8Activations()}
   */
  default float dotQ8(int row, Q8Activations x, int token) {
    throw new UnsupportedOperationException(format() + " weights take float activations");
  }

  /** The same through the scalar twin. */
  default float dotQ8Scalar(int row, Q8Activations x, int token) {
    throw new UnsupportedOperationException(format() + " weights take float activations");
  }

  /**
   * {@code y[t * yStride + r] = dotQ8(r, x, t)} for rows {@code [rowStart, rowEnd)} and every token of {@code x}.
   * Each weight row is read once and used for every token while it sits in L1.
   */
  default void matMatQ8(Q8Activations x, float[] y, int yStride, int rowStart, int rowEnd) {
    if (x.cols() != cols()) {
      throw new IllegalArgumentException("activations: " + x.cols() + " columns (expected: " + cols() + ")");
    }
    int tokens = x.tokens();
    for (int r = rowStart; r < rowEnd; r++) {
      for (int t = 0; t < tokens; t++) {
        y[t * yStride + r] = dotQ8(r, x, t);
      }
    }
  }

  /** Decodes row {@code row} into {@code out[outOffset .. outOffset + cols)}. */
  void decodeRow(int row, float[] out, int outOffset);

  /** {@code y[yOffset + r] = dot(row r, x)} for rows {@code [rowStart, rowEnd)}. */
  default void matVec(float[] x, int xOffset, float[] y, int yOffset, int rowStart, int rowEnd) {
    for (int r = rowStart; r < rowEnd; r++) {
      y[yOffset + r] = dot(r, x, xOffset);
    }
  }

  /**
   * Batched product for {@code tokens} activation rows {@code x[t * xStride ..]}: {@code y[t * yStride + r]} for rows
   * {@code [rowStart, rowEnd)}. Weight rows are decoded four at a time into {@code scratch} (at least
   * {@code 4 * cols} long) and used against every token while they sit in L1, so the weights stream from memory once
   * per batch.
   */
  default void matMat(float[] x, int xStride, int tokens, float[] y, int yStride, int rowStart, int rowEnd,
      float[] scratch) {
    if (tokens == 1) {
      matVec(x, 0, y, 0, rowStart, rowEnd);
      return;
    }
    int cols = cols();
    int r = rowStart;
    for (; r + 4 <= rowEnd; r += 4) {
      for (int k = 0; k < 4; k++) {
        decodeRow(r + k, scratch, k * cols);
      }
      if (VectorKernels.ENABLED) {
        VectorKernels.dotMany4(scratch, cols, x, xStride, tokens, y, r, yStride);
      } else {
        ScalarKernels.dotMany4(scratch, cols, x, xStride, tokens, y, r, yStride);
      }
    }
    for (; r < rowEnd; r++) {
      decodeRow(r, scratch, 0);
      if (VectorKernels.ENABLED) {
        VectorKernels.dotMany(scratch, cols, x, xStride, tokens, y, r, yStride);
      } else {
        ScalarKernels.dotMany(scratch, cols, x, xStride, tokens, y, r, yStride);
      }
    }
  }
}
