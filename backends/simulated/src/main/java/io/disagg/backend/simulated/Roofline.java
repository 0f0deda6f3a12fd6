package io.disagg.backend.simulated;

import java.util.Objects;

/**
 * Step times of one model on a group of {@code devices} identical devices of a {@link HardwareProfile}, by the
 * roofline model: a forward pass takes as long as the slower of its arithmetic ({@code FLOPs ÷ peak FLOP/s}) and its
 * memory traffic ({@code bytes ÷ bandwidth}), plus, with more than one device, the tensor-parallel all-reduces.
 *
 * <ul>
 *   <li>FLOPs: {@code 2 × matmulParameters} per token, plus attention's {@code 4 × layers × heads × headDim} per
 *       (query, key) pair.
 *   <li>Bytes: every weight once per pass (shared by the whole batch: the batch-size effect), the KV cache each
 *       query attends to, and the new tokens' KV written.
 *   <li>Tensor parallelism over {@code d} devices divides FLOPs and bytes by {@code d} and adds two ring
 *       all-reduces of the activations (16-bit) per layer: {@code 2 × layers × (groupLatency + 2(d−1)/d × tokens ×
 *       dim × 2 bytes ÷ groupBandwidth)}.
 *   <li>A KV transfer to a peer takes {@code peerLatency + bytes ÷ peerBandwidth}.
 * </ul>
 *
 * <p>It is an upper bound on speed: real kernels reach a fraction of peak, which a profile can express by lowering
 * its numbers (the calibrated CPU profile does: its numbers are measured, not peak). Immutable, thread-safe.
 */
public final class Roofline {
  private final HardwareProfile profile;
  private final ModelShape shape;
  private final int devices;

  public Roofline(HardwareProfile profile, ModelShape shape, int devices) {
    this.profile = Objects.requireNonNull(profile, "profile");
    this.shape = Objects.requireNonNull(shape, "shape");
    if (devices <= 0) {
      throw new IllegalArgumentException("devices: " + devices + " (expected: > 0)");
    }
    this.devices = devices;
  }

  public HardwareProfile profile() {
    return profile;
  }

  public ModelShape shape() {
    return shape;
  }

  public int devices() {
    return devices;
  }

  /** Bytes the group's memory holds for the weights plus {@code kvTokens} positions of KV. */
  public double memoryNeeded(long kvTokens) {
    return shape.weightBytes() + (double) kvTokens * shape.kvBytesPerToken();
  }

  /** Bytes the group's memory holds. */
  public double memoryCapacity() {
    return profile.memoryCapacity() * devices;
  }

  private double attentionFlopsPerPair() {
    return 4.0 * shape.layers() * shape.heads() * shape.headDim();
  }

  /**
   * One forward pass computing {@code newTokens[i]} positions of sequence {@code i} after {@code priorTokens[i]}
   * positions already cached (a prefill chunk, or a decode step when every {@code newTokens[i]} is 1).
   *
   * @return seconds
   * @throws IllegalArgumentException when the arrays differ in length or hold negative counts
   */
  public double forwardSeconds(int[] newTokens, int[] priorTokens) {
    if (newTokens.length != priorTokens.length) {
      throw new IllegalArgumentException("newTokens and priorTokens differ in length: " + newTokens.length + " vs "
          + priorTokens.length);
    }
    double tokens = 0;
    double pairs = 0;
    double kvRead = 0;
    for (int i = 0; i < newTokens.length; i++) {
      int n = newTokens[i];
      int prior = priorTokens[i];
      if (n < 0 || prior < 0) {
        throw new IllegalArgumentException("token counts: " + n + ", " + prior + " (expected: >= 0)");
      }
      tokens += n;
      // causal attention: the j-th new token (1-based) attends to prior + j positions
      pairs += (double) n * prior + (double) n * (n + 1) / 2;
      kvRead += n == 0 ? 0 : prior;
    }
    if (tokens == 0) {
      return 0;
    }
    double flops = 2.0 * shape.matmulParameters() * tokens + attentionFlopsPerPair() * pairs;
    double bytes = shape.weightBytes() + (kvRead + tokens) * shape.kvBytesPerToken();
    double compute = flops / (profile.peakFlops() * devices);
    double memory = bytes / (profile.memoryBandwidth() * devices);
    return Math.max(compute, memory) + groupSeconds(tokens);
  }

  /** One decode step over a batch whose sequences hold {@code cachedTokens[i]} positions before the step. */
  public double decodeSeconds(int[] cachedTokens) {
    int[] ones = new int[cachedTokens.length];
    java.util.Arrays.fill(ones, 1);
    return forwardSeconds(ones, cachedTokens);
  }

  private double groupSeconds(double tokens) {
    if (devices == 1) {
      return 0;
    }
    double bytes = 2.0 * (devices - 1) / devices * tokens * shape.embeddingDim() * 2;
    return 2.0 * shape.layers() * (profile.groupLatencySeconds() + bytes / profile.groupBandwidth());
  }

  /** Seconds to move {@code bytes} of KV cache to a peer over the profile's scale-out link. */
  public double transferSeconds(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("bytes: " + bytes + " (expected: >= 0)");
    }
    return profile.peerLatencySeconds() + bytes / profile.peerBandwidth();
  }
}
