package io.disagg.backend.java;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.BackendException;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.ModelInfo;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.gguf.GgmlCodec;
import io.disagg.gguf.GgmlType;
import io.disagg.gguf.GgufFile;
import io.disagg.gguf.GgufWriter;
import io.disagg.gguf.TensorInfo;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelLoadingTest {
  @TempDir
  Path dir;

  @Test
  void stories260K_modelInfo_describesModelAndFingerprint() {
    try (JavaBackend backend = TestModels.open(TestModels.stories260K(), 1, 4)) {
      ModelInfo info = backend.model();
      assertThat(info.architecture()).isEqualTo("llama");
      assertThat(info.layers()).isEqualTo(5);
      assertThat(info.embeddingDim()).isEqualTo(64);
      assertThat(info.heads()).isEqualTo(8);
      assertThat(info.kvHeads()).isEqualTo(4);
      assertThat(info.headDim()).isEqualTo(8);
      assertThat(info.feedForwardDim()).isEqualTo(172);
      assertThat(info.vocabSize()).isEqualTo(512);
      assertThat(info.fingerprint().modelSha256())
          .isEqualTo("270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
      assertThat(info.kvLayout().describe()).isEqualTo("L5.H4.D8.F32.B16");
      assertThat(info.weightBytes()).isGreaterThan(info.parameterCount() * 4 / 2).isLessThan(info.parameterCount() * 4);
      assertThat(backend.tokenizer().vocabSize()).isEqualTo(512);
    }
  }

  /** Layer 0's keys at position 0 (RoPE is the identity there) and values anywhere need only one matrix product. */
  @Test
  void kvCache_layerZero_matchesIndependentComputationAtLayoutOffsets() {
    Path model = TestModels.stories260K();
    int[] prompt = new int[20];
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = 3 + i * 7;
    }
    try (JavaBackend backend = TestModels.open(model, 1, 8); GgufFile gguf = GgufFile.open(model)) {
      PrefillResult r = backend.prefill(new PrefillRequest("x", prompt, SamplingParams.greedy()));
      KvLayout layout = backend.model().kvLayout();
      int kvDim = layout.kvDim();
      for (int position : new int[] {0, 17}) {
        float[] x = row(gguf, "token_embd.weight", prompt[position], 64);
        float[] norm = decode(gguf, "blk.0.attn_norm.weight");
        double ss = 0;
        for (float v : x) {
          ss += v * v;
        }
        float scale = (float) (1 / Math.sqrt(ss / 64 + 1e-5));
        for (int i = 0; i < 64; i++) {
          x[i] = norm[i] * scale * x[i];
        }
        MemorySegment block = r.sequence().blocks().get(position / layout.blockTokens()).segment();
        for (int j = 0; j < kvDim; j++) {
          float[] wv = row(gguf, "blk.0.attn_v.weight", j, 64);
          float expectedV = dot(wv, x);
          assertThat(block.get(ValueLayout.JAVA_FLOAT, layout.offset(0, true, position % 16) + 4L * j))
              .as("v[%d] at %d", j, position).isCloseTo(expectedV, within(1e-4f));
          if (position == 0) {
            float expectedK = dot(row(gguf, "blk.0.attn_k.weight", j, 64), x);
            assertThat(block.get(ValueLayout.JAVA_FLOAT, layout.offset(0, false, 0) + 4L * j))
                .as("k[%d] at 0", j).isCloseTo(expectedK, within(1e-4f));
          }
        }
      }
      r.sequence().close();
    }
  }

  private static float[] decode(GgufFile gguf, String name) {
    TensorInfo t = gguf.tensor(name);
    return GgmlCodec.decode(t.type(), gguf.tensorData(t), t.elementCount());
  }

  private static float[] row(GgufFile gguf, String name, int row, int cols) {
    float[] all = decode(gguf, name);
    float[] out = new float[cols];
    System.arraycopy(all, row * cols, out, 0, cols);
    return out;
  }

  private static float dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return (float) s;
  }

  /** Copies stories260K with some metadata values replaced and one tensor re-typed (its bytes zeroed). */
  private Path copyOfStories(String name, Map<String, Object> metadataOverrides, String retypedTensor,
      GgmlType newType) {
    Path out = dir.resolve(name);
    try (GgufFile src = GgufFile.open(TestModels.stories260K())) {
      GgufWriter.Builder b = GgufWriter.builder().version(3).alignment(32);
      src.metadata().forEach((k, v) -> b.put(k, src.metadataType(k).orElseThrow(),
          metadataOverrides.getOrDefault(k, v)));
      for (TensorInfo t : src.tensors()) {
        if (t.name().equals(retypedTensor)) {
          b.tensor(t.name(), newType, t.shape(), new byte[(int) newType.bytesFor(t.elementCount())]);
        } else {
          byte[] bytes = src.tensorData(t).toArray(ValueLayout.JAVA_BYTE);
          b.tensor(t.name(), t.type(), t.shape(), bytes);
        }
      }
      return b.write(out);
    }
  }

  @Test
  void unsupportedTensorType_refusedNamingTypeAndTensor() {
    Path model = copyOfStories("q4_1.gguf", Map.of(), "blk.0.attn_q.weight", GgmlType.Q4_1);
    assertThatThrownBy(() -> TestModels.open(model, 1, 4))
        .isInstanceOfSatisfying(BackendException.class, e -> {
          assertThat(e.code()).isEqualTo(BackendException.Code.MODEL_INVALID);
          assertThat(e.getMessage()).contains("Q4_1").contains("blk.0.attn_q.weight");
        });
  }

  @Test
  void unknownArchitecture_refused() {
    Path model = copyOfStories("mamba.gguf", Map.of("general.architecture", "mamba"), "", GgmlType.F32);
    assertThatThrownBy(() -> TestModels.open(model, 1, 4))
        .isInstanceOfSatisfying(BackendException.class, e -> {
          assertThat(e.code()).isEqualTo(BackendException.Code.MODEL_INVALID);
          assertThat(e.getMessage()).contains("mamba");
        });
  }

  @Test
  void notAGgufFile_refusedAsModelInvalid() throws Exception {
    Path junk = Files.writeString(dir.resolve("junk.gguf"), "this is not a model, just some text to read");
    assertThatThrownBy(() -> JavaBackend.open(BackendConfig.builder(junk).build()))
        .isInstanceOfSatisfying(BackendException.class,
            e -> assertThat(e.code()).isEqualTo(BackendException.Code.MODEL_INVALID));
    assertThatThrownBy(() -> JavaBackend.open(BackendConfig.builder(dir.resolve("missing.gguf")).build()))
        .isInstanceOfSatisfying(BackendException.class,
            e -> assertThat(e.code()).isEqualTo(BackendException.Code.MODEL_INVALID));
  }

  @Test
  void legacyGgufV1_refusedAsModelInvalid() {
    Path v1 = TestModels.stories260K().getParent().resolveSibling("stories260K-gguf-v1")
        .resolve("tinyllamas-stories-260k-f32.gguf");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(v1), "skipped: " + v1 + " not found");
    assertThatThrownBy(() -> TestModels.open(v1, 1, 4))
        .isInstanceOfSatisfying(BackendException.class, e -> {
          assertThat(e.code()).isEqualTo(BackendException.Code.MODEL_INVALID);
          assertThat(e.getMessage()).containsIgnoringCase("version");
        });
  }
}
