package io.disagg.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor's description from a GGUF header.
 *
 * @param name     the llama.cpp tensor name, e.g. {@code blk.0.attn_q.weight}
 * @param type     the storage type
 * @param shape    dimensions in GGUF order: {@code shape[0]} ({@code ne0}) is the contiguous row length
 * @param offset   byte offset relative to the start of the tensor-data section
 * @param byteSize bytes the tensor occupies, {@code type.bytesFor(elementCount())}
 */
public record TensorInfo(String name, GgmlType type, long[] shape, long offset, long byteSize) {

  public TensorInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    shape = shape.clone();
    if (shape.length == 0) {
      throw new IllegalArgumentException("shape: [] (expected: at least one dimension)");
    }
    for (long dim : shape) {
      if (dim < 0) {
        throw new IllegalArgumentException("shape: %s (expected: dimensions >= 0)".formatted(Arrays.toString(shape)));
      }
    }
    if (offset < 0) {
      throw new IllegalArgumentException("offset: %s (expected: >= 0)".formatted(offset));
    }
    if (byteSize < 0) {
      throw new IllegalArgumentException("byteSize: %s (expected: >= 0)".formatted(byteSize));
    }
  }

  /** A copy of the dimensions; {@code shape()[0]} is the row length. */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Number of dimensions. */
  public int dimensions() {
    return shape.length;
  }

  /** Product of all dimensions. */
  public long elementCount() {
    long count = 1;
    for (long dim : shape) {
      count = Math.multiplyExact(count, dim);
    }
    return count;
  }

  /** Product of {@code shape[1..]}: the number of rows of length {@link #rowLength()}. */
  public long rows() {
    long rows = 1;
    for (int i = 1; i < shape.length; i++) {
      rows = Math.multiplyExact(rows, shape[i]);
    }
    return rows;
  }

  /** {@code shape[0]}, the contiguous row length in elements. */
  public long rowLength() {
    return shape[0];
  }

  /** Bytes of one row. */
  public long rowBytes() {
    return type.bytesFor(shape[0]);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo that
        && name.equals(that.name)
        && type == that.type
        && Arrays.equals(shape, that.shape)
        && offset == that.offset
        && byteSize == that.byteSize;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, type, Arrays.hashCode(shape), offset, byteSize);
  }

  @Override
  public String toString() {
    return "TensorInfo[" + name + ", " + type + ", " + Arrays.toString(shape) + ", offset=" + offset + ", byteSize="
        + byteSize + "]";
  }
}
