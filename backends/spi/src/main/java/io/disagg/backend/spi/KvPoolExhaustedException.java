package io.disagg.backend.spi;

/** Thrown when a KV pool cannot supply the blocks asked for. Recoverable: nothing was reserved. */
public final class KvPoolExhaustedException extends BackendException {
  private static final long serialVersionUID = 1L;
  private final int requested;
  private final int free;

  public KvPoolExhaustedException(int requested, int free, int total) {
    super(Code.RESOURCE_EXHAUSTED,
        "KV pool exhausted: requested " + requested + " blocks, " + free + " free of " + total);
    this.requested = requested;
    this.free = free;
  }

  public int requested() {
    return requested;
  }

  public int free() {
    return free;
  }
}
