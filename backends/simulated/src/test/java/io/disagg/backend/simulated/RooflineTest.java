package io.disagg.backend.simulated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class RooflineTest {
  private static final HardwareProfile H100 = HardwareProfile.load("h100");
  private static final ModelShape LLAMA_8B = ModelShape.fromSpec("llama3-8b");

  @Test
  void shape_llama3_8b_hasPublishedParameterCountAndBf16Bytes() {
    assertThat(LLAMA_8B.parameterCount()).isBetween(8_000_000_000L, 8_100_000_000L);
    // untied: the embedding lookup is not a matmul and is not streamed per token
    assertThat(LLAMA_8B.matmulParameters()).isEqualTo(LLAMA_8B.parameterCount() - 128256L * 4096);
    assertThat(LLAMA_8B.weightBytes()).isEqualTo(2 * LLAMA_8B.matmulParameters());
    assertThat(LLAMA_8B.kvBytesPerToken()).isEqualTo(2L * 32 * 8 * 128 * 2);
  }

  @Test
  void decode_batchOne_isWeightBandwidthBound() {
    Roofline r = new Roofline(H100, LLAMA_8B, 1);
    double expected = (LLAMA_8B.weightBytes() + 101.0 * LLAMA_8B.kvBytesPerToken()) / 3.35e12;
    assertThat(r.decodeSeconds(new int[] {100})).isCloseTo(expected, within(expected * 1e-9));
  }

  @Test
  void decode_largerBatch_sharesTheWeightRead() {
    Roofline r = new Roofline(H100, LLAMA_8B, 1);
    double one = r.decodeSeconds(new int[] {10});
    double eight = r.decodeSeconds(new int[] {10, 10, 10, 10, 10, 10, 10, 10});
    assertThat(eight).isLessThan(1.01 * one); // weight-bound: 8x the tokens for ~the same step time
  }

  @Test
  void prefill_longPrompt_isComputeBound() {
    Roofline r = new Roofline(H100, LLAMA_8B, 1);
    int n = 4096;
    double flops = 2.0 * LLAMA_8B.matmulParameters() * n + 4.0 * 32 * 32 * 128 * ((double) n * (n + 1) / 2);
    assertThat(r.forwardSeconds(new int[] {n}, new int[] {0})).isCloseTo(flops / 989e12, within(1e-9));
  }

  @Test
  void tensorParallel_dividesWorkAndAddsAllReduces() {
    Roofline one = new Roofline(H100, LLAMA_8B, 1);
    Roofline four = new Roofline(H100, LLAMA_8B, 4);
    int[] ctx = {100};
    double allReduce = 2 * 32 * (5e-6 + 2.0 * 3 / 4 * 4096 * 2 / 450e9);
    assertThat(four.decodeSeconds(ctx)).isCloseTo(one.decodeSeconds(ctx) / 4 + allReduce, within(1e-12));
    assertThat(four.memoryCapacity()).isEqualTo(4 * 80e9);
  }

  @Test
  void transfer_isLatencyPlusBytesOverPeerBandwidth() {
    Roofline r = new Roofline(HardwareProfile.load("trn2"), LLAMA_8B, 1);
    assertThat(r.transferSeconds(25_000_000_000L)).isCloseTo(15e-6 + 1.0, within(1e-12));
    assertThatThrownBy(() -> r.transferSeconds(-1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void everyBuiltInProfile_loadsWithASourcePerNumber() {
    for (String name : HardwareProfile.BUILT_IN) {
      HardwareProfile p = HardwareProfile.load(name);
      assertThat(p.name()).isEqualTo(name);
      assertThat(p.sources()).containsOnlyKeys(HardwareProfile.KEYS);
      assertThat(p.sources().values()).allSatisfy(s -> assertThat(s).isNotBlank());
    }
  }

  @Test
  void profile_numberWithoutSource_refused() {
    String text = """
        name=x
        description=x
        peak_flops=1e12
        memory_bandwidth=1e12
        memory_bandwidth.source=a
        memory_capacity=1e9
        memory_capacity.source=a
        peer_bandwidth=1e9
        peer_bandwidth.source=a
        peer_latency=0
        peer_latency.source=a
        group_bandwidth=1e9
        group_bandwidth.source=a
        group_latency=0
        group_latency.source=a
        """;
    assertThatThrownBy(() -> HardwareProfile.parse("x.properties", text))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing key peak_flops.source");
    assertThat(HardwareProfile.parse("x.properties", text + "peak_flops.source=a\n").peakFlops()).isEqualTo(1e12);
  }

  @Test
  void profile_unknownName_namesTheBuiltIns() {
    assertThatThrownBy(() -> HardwareProfile.load("tpu-v9"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("h100").hasMessageContaining("cs3");
  }

  @Test
  void shapeSpec_semicolonsSeparatePairs_andUnknownKeysAreRefused() {
    ModelShape shape = ModelShape.fromSpec("layers=2;dim=64;heads=4;kv-heads=2;vocab=300;name=two");
    assertThat(shape.layers()).isEqualTo(2);
    assertThat(shape.kvHeads()).isEqualTo(2);
    assertThat(shape.name()).isEqualTo("two");
    assertThatThrownBy(() -> ModelShape.fromSpec("layers=2;colour=blue"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("colour");
  }
}
