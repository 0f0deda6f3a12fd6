package io.disagg.backend.spi;

/** Element type of keys and values in the KV cache. */
public enum KvDtype {
  F32(4),
  F16(2);

  private final int bytes;

  KvDtype(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }
}
