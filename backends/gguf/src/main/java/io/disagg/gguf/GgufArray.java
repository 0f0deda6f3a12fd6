package io.disagg.gguf;

import java.lang.reflect.Array;
import java.util.Arrays;
import java.util.Objects;

/**
 * A metadata array value. The Java array type follows the element type: {@code int[]} for UINT8, INT8, UINT16, INT16
 * and INT32; {@code long[]} for UINT32, INT64 and UINT64 (UINT64 values above {@link Long#MAX_VALUE} wrap, as in
 * {@link Long#toUnsignedString(long)}); {@code float[]} for FLOAT32; {@code double[]} for FLOAT64; {@code boolean[]}
 * for BOOL; {@code String[]} for STRING; {@code GgufArray[]} for nested arrays.
 *
 * @param elementType the element type
 * @param values      the elements; a copy is taken and {@link #values()} returns a copy
 */
public record GgufArray(GgufValueType elementType, Object values) {

  public GgufArray {
    Objects.requireNonNull(elementType, "elementType");
    Objects.requireNonNull(values, "values");
    Class<?> expected = javaArrayType(elementType);
    if (values.getClass() != expected) {
      throw new IllegalArgumentException(
          "values: %s (expected: %s for %s elements)".formatted(values.getClass().getSimpleName(),
              expected.getSimpleName(), elementType));
    }
    values = copy(values);
    validateRange(elementType, values);
  }

  /** The array class that holds elements of {@code type}. */
  public static Class<?> javaArrayType(GgufValueType type) {
    return switch (type) {
      case UINT8, INT8, UINT16, INT16, INT32 -> int[].class;
      case UINT32, INT64, UINT64 -> long[].class;
      case FLOAT32 -> float[].class;
      case FLOAT64 -> double[].class;
      case BOOL -> boolean[].class;
      case STRING -> String[].class;
      case ARRAY -> GgufArray[].class;
    };
  }

  /** A copy of the elements. */
  @Override
  public Object values() {
    return copy(values);
  }

  /** Number of elements. */
  public int size() {
    return Array.getLength(values);
  }

  private static Object copy(Object array) {
    return switch (array) {
      case int[] a -> a.clone();
      case long[] a -> a.clone();
      case float[] a -> a.clone();
      case double[] a -> a.clone();
      case boolean[] a -> a.clone();
      case Object[] a -> a.clone();
      default -> throw new IllegalArgumentException("values: " + array.getClass() + " (expected: an array)");
    };
  }

  private static void validateRange(GgufValueType type, Object values) {
    long min;
    long max;
    switch (type) {
      case UINT8 -> { min = 0; max = 0xFF; }
      case INT8 -> { min = Byte.MIN_VALUE; max = Byte.MAX_VALUE; }
      case UINT16 -> { min = 0; max = 0xFFFF; }
      case INT16 -> { min = Short.MIN_VALUE; max = Short.MAX_VALUE; }
      case UINT32 -> { min = 0; max = 0xFFFF_FFFFL; }
      case STRING, ARRAY -> {
        for (Object element : (Object[]) values) {
          Objects.requireNonNull(element, "values contains null");
        }
        return;
      }
      default -> { return; }
    }
    if (values instanceof int[] ints) {
      for (int v : ints) {
        checkRange(type, v, min, max);
      }
    } else {
      for (long v : (long[]) values) {
        checkRange(type, v, min, max);
      }
    }
  }

  private static void checkRange(GgufValueType type, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          "values: element %s (expected: %s in [%s, %s])".formatted(value, type, min, max));
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GgufArray that
        && elementType == that.elementType
        && Arrays.deepEquals(new Object[] {values}, new Object[] {that.values});
  }

  @Override
  public int hashCode() {
    return 31 * elementType.hashCode() + Arrays.deepHashCode(new Object[] {values});
  }

  @Override
  public String toString() {
    String shown = Arrays.deepToString(new Object[] {values});
    shown = shown.substring(1, shown.length() - 1);
    if (shown.length() > 200) {
      shown = shown.substring(0, 200) + "...";
    }
    return "GgufArray[" + elementType + " x " + size() + ", " + shown + "]";
  }
}
