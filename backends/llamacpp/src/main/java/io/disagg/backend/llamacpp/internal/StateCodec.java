package io.disagg.backend.llamacpp.internal;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import io.disagg.backend.spi.BackendException;
import io.disagg.backend.spi.BackendException.Code;
import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvDtype;
import io.disagg.backend.spi.KvLayout;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Translates between the bytes llama.cpp b4916 writes for one sequence ({@code llama_state_seq_get_data}) and the
 * SPI's paged block layout ({@code [layer][k|v][tokenInBlock][kvHead][headDim]}), both ways, so that a llama.cpp KV
 * cache travels in ordinary {@link KvLayout} blocks and the transport needs no special case.
 *
 * <p>The sequence state of that build is, all little-endian: {@code u32 cell_count}; per cell {@code i32 pos, u32
 * n_seq_id} (0 for a single-sequence state); {@code u32 v_trans, u32 n_layer}; per layer {@code i32 k_type, u64
 * k_row_bytes} then one key row per cell; then for values either the same as keys ({@code v_trans == 0}), or per layer
 * {@code i32 v_type, u32 v_element_bytes, u32 n_embd_v} followed by, for every value element {@code j}, that element
 * of every cell (the V cache is stored transposed when flash attention is off). Every field is checked; anything else
 * (another build's format, another model's shapes) is refused rather than guessed at.
 *
 * <p>Cost: one pass over the bytes each way; keys move as whole rows, transposed values element by element.
 */
final class StateCodec {
  private StateCodec() {}

  /** GGML type id of a KV dtype. */
  static int ggmlType(KvDtype dtype) {
    return switch (dtype) {
      case F32 -> LlamaLibrary.GGML_TYPE_F32;
      case F16 -> LlamaLibrary.GGML_TYPE_F16;
    };
  }

  /** Bytes of a single-sequence state holding {@code tokens} positions. */
  static long stateBytes(KvLayout layout, int tokens, boolean vTrans) {
    long row = (long) layout.kvDim() * layout.dtype().bytes();
    long keys = layout.layers() * (4 + 8 + tokens * row);
    long values = layout.layers() * (12 + tokens * row); // i32 type + u64 row, or i32 type + u32 el + u32 dim
    return 4 + 8L * tokens + 8 + keys + values;
  }

  /**
   * Parses a state and writes its keys and values into {@code blocks}.
   *
   * @param state the bytes llama.cpp wrote; read only
   * @param tokens the positions the sequence holds; the state must hold exactly positions {@code 0..tokens-1}
   * @return whether the state's V part was transposed
   * @throws BackendException {@code INTERNAL} when the bytes are not what build b4916 writes for this layout
   */
  static boolean scatter(MemorySegment state, KvLayout layout, int tokens, List<KvBlock> blocks) {
    Reader in = new Reader(state);
    int cells = in.u32("cell_count");
    if (cells != tokens) {
      throw bad("cell_count " + cells + ", sequence holds " + tokens);
    }
    int bt = layout.blockTokens();
    if ((long) blocks.size() * bt < tokens) {
      throw bad(tokens + " tokens need " + layout.blocksFor(tokens) + " blocks, have " + blocks.size());
    }
    int[] pos = new int[cells];
    boolean[] seen = new boolean[cells];
    for (int c = 0; c < cells; c++) {
      int p = in.u32("pos");
      if (p < 0 || p >= tokens || seen[p]) {
        throw bad("cell " + c + " has position " + p + " (expected: each of 0.." + (tokens - 1) + " once)");
      }
      seen[p] = true;
      pos[c] = p;
      int n = in.u32("n_seq_id");
      if (n != 0) {
        throw bad("cell " + c + " lists " + n + " sequence ids (expected: a single-sequence state)");
      }
    }
    int vTrans = in.u32("v_trans");
    if (vTrans != 0 && vTrans != 1) {
      throw bad("v_trans " + vTrans);
    }
    checkLayers(in, layout);
    int el = layout.dtype().bytes();
    long row = (long) layout.kvDim() * el;
    for (int l = 0; l < layout.layers(); l++) {
      checkRow(in, layout, row, "k");
      for (int c = 0; c < cells; c++) {
        MemorySegment.copy(state, in.take(row), target(blocks, layout, pos[c], l, false), 0, row);
      }
    }
    for (int l = 0; l < layout.layers(); l++) {
      if (vTrans == 0) {
        checkRow(in, layout, row, "v");
        for (int c = 0; c < cells; c++) {
          MemorySegment.copy(state, in.take(row), target(blocks, layout, pos[c], l, true), 0, row);
        }
      } else {
        checkTransposedHeader(in, layout);
        MemorySegment[] rows = new MemorySegment[cells];
        for (int c = 0; c < cells; c++) {
          rows[c] = target(blocks, layout, pos[c], l, true);
        }
        for (int j = 0; j < layout.kvDim(); j++) {
          long at = in.take((long) cells * el);
          for (int c = 0; c < cells; c++) {
            copyElement(state, at + (long) c * el, rows[c], (long) j * el, el);
          }
        }
      }
    }
    if (in.at != state.byteSize()) {
      throw bad((state.byteSize() - in.at) + " bytes left after the last layer");
    }
    return vTrans == 1;
  }

  /**
   * Writes a single-sequence state of {@code tokens} positions from {@code blocks} into {@code state}, in the form
   * {@link #scatter} reads.
   *
   * @param state at least {@link #stateBytes} long; written from offset 0
   * @return bytes written
   */
  static long gather(List<KvBlock> blocks, KvLayout layout, int tokens, boolean vTrans, MemorySegment state) {
    Writer out = new Writer(state);
    out.u32(tokens);
    for (int p = 0; p < tokens; p++) {
      out.u32(p);
      out.u32(0);
    }
    out.u32(vTrans ? 1 : 0);
    out.u32(layout.layers());
    int el = layout.dtype().bytes();
    long row = (long) layout.kvDim() * el;
    int type = ggmlType(layout.dtype());
    for (int l = 0; l < layout.layers(); l++) {
      out.u32(type);
      out.u64(row);
      for (int p = 0; p < tokens; p++) {
        MemorySegment.copy(target(blocks, layout, p, l, false), 0, state, out.take(row), row);
      }
    }
    for (int l = 0; l < layout.layers(); l++) {
      out.u32(type);
      if (!vTrans) {
        out.u64(row);
        for (int p = 0; p < tokens; p++) {
          MemorySegment.copy(target(blocks, layout, p, l, true), 0, state, out.take(row), row);
        }
      } else {
        out.u32(el);
        out.u32(layout.kvDim());
        MemorySegment[] rows = new MemorySegment[tokens];
        for (int p = 0; p < tokens; p++) {
          rows[p] = target(blocks, layout, p, l, true);
        }
        for (int j = 0; j < layout.kvDim(); j++) {
          long at = out.take((long) tokens * el);
          for (int p = 0; p < tokens; p++) {
            copyElement(rows[p], (long) j * el, state, at + (long) p * el, el);
          }
        }
      }
    }
    return out.at;
  }

  /** The slice of {@code blocks} holding one token's keys or values in one layer. */
  private static MemorySegment target(List<KvBlock> blocks, KvLayout layout, int position, int layer,
      boolean value) {
    int bt = layout.blockTokens();
    long row = (long) layout.kvDim() * layout.dtype().bytes();
    return blocks.get(position / bt).segment().asSlice(layout.offset(layer, value, position % bt), row);
  }

  private static void copyElement(MemorySegment src, long from, MemorySegment dst, long to, int el) {
    if (el == 2) {
      dst.set(JAVA_SHORT_UNALIGNED, to, src.get(JAVA_SHORT_UNALIGNED, from));
    } else {
      dst.set(JAVA_INT_UNALIGNED, to, src.get(JAVA_INT_UNALIGNED, from));
    }
  }

  private static void checkLayers(Reader in, KvLayout layout) {
    int layers = in.u32("n_layer");
    if (layers != layout.layers()) {
      throw bad("n_layer " + layers + " (expected: " + layout.layers() + ")");
    }
  }

  private static void checkRow(Reader in, KvLayout layout, long row, String what) {
    int type = in.u32(what + "_type");
    if (type != ggmlType(layout.dtype())) {
      throw bad(what + " type " + type + " (expected: " + ggmlType(layout.dtype()) + ", " + layout.dtype() + ")");
    }
    long size = in.u64(what + "_size_row");
    if (size != row) {
      throw bad(what + " row of " + size + " bytes (expected: " + row + ")");
    }
  }

  private static void checkTransposedHeader(Reader in, KvLayout layout) {
    int type = in.u32("v_type");
    if (type != ggmlType(layout.dtype())) {
      throw bad("v type " + type + " (expected: " + ggmlType(layout.dtype()) + ")");
    }
    int el = in.u32("v_size_el");
    int dim = in.u32("n_embd_v_gqa");
    if (el != layout.dtype().bytes() || dim != layout.kvDim()) {
      throw bad("v element " + el + " bytes x " + dim + " (expected: " + layout.dtype().bytes() + " x "
          + layout.kvDim() + ")");
    }
  }

  private static BackendException bad(String what) {
    return new BackendException(Code.INTERNAL, "llama.cpp sequence state is not in the b" + LlamaLibrary.BUILD_NUMBER
        + " format for this model: " + what);
  }

  private static final class Reader {
    private final MemorySegment s;
    long at;

    Reader(MemorySegment s) {
      this.s = s;
    }

    int u32(String field) {
      need(4, field);
      int v = s.get(JAVA_INT_UNALIGNED, at);
      at += 4;
      return v;
    }

    long u64(String field) {
      need(8, field);
      long v = s.get(JAVA_LONG_UNALIGNED, at);
      at += 8;
      return v;
    }

    long take(long bytes) {
      need(bytes, "data");
      long start = at;
      at += bytes;
      return start;
    }

    private void need(long bytes, String field) {
      if (at + bytes > s.byteSize()) {
        throw bad("truncated at " + field + " (offset " + at + " of " + s.byteSize() + ")");
      }
    }
  }

  private static final class Writer {
    private final MemorySegment s;
    long at;

    Writer(MemorySegment s) {
      this.s = s;
    }

    void u32(int v) {
      s.set(JAVA_INT_UNALIGNED, at, v);
      at += 4;
    }

    void u64(long v) {
      s.set(JAVA_LONG_UNALIGNED, at, v);
      at += 8;
    }

    long take(long bytes) {
      long start = at;
      at += bytes;
      return start;
    }
  }
}
