package io.disagg.backend.spi;

/**
 * Told as prefill makes progress, so a sender can stream the KV cache layer by layer while later layers are still
 * being computed. Called on the thread running prefill; implementations must not block for long.
 */
@FunctionalInterface
public interface PrefillListener {
  PrefillListener NONE = (sequence, layer) -> {};

  /**
   * Keys and values of every prompt position for {@code layer} are now in {@code sequence}'s blocks (the slices at
   * {@link KvLayout#layerOffset(int)}) and will not change.
   */
  void onLayerComplete(Sequence sequence, int layer);
}
