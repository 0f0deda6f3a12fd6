package io.disagg.backend.llamacpp.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.disagg.backend.spi.BackendException;
import io.disagg.backend.spi.BackendException.Code;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * The llama.cpp C API of the one pinned build, {@value #BUILD_NUMBER}, bound through the Foreign Function and Memory
 * API. The struct layouts below are written by hand for that build (no jextract): they were read off the build's own
 * {@code llama_model_default_params} and {@code llama_context_default_params} code, and {@link #load} checks both the
 * build number the library exports ({@code LLAMA_BUILD_NUMBER}) and the defaults those functions return at the offsets
 * these layouts name, so a different build is refused with a clear error instead of corrupting memory.
 *
 * <p>The library is loaded once per JVM with {@link SymbolLookup#libraryLookup(Path, Arena)} into the global arena
 * (never {@code System.load}: the carrier's {@code JNI_OnLoad} looks for the carrier's Java classes). It comes from
 * the {@code de.kherud:llama} jar on the class path, extracted to a temporary file, unless a path is given.
 *
 * <p>Thread-safety: the handles are immutable; llama.cpp itself allows one thread per context at a time.
 */
final class LlamaLibrary {
  /** The llama.cpp build these layouts were written for. */
  static final int BUILD_NUMBER = 4916;
  /** Where the carrier jar keeps the Linux x86_64 library. */
  static final String CARRIER_RESOURCE = "de/kherud/llama/Linux/x86_64/libjllama.so";

  static final int GGML_TYPE_F32 = 0;
  static final int GGML_TYPE_F16 = 1;

  /** {@code struct llama_model_params} of b4916: 64 bytes. */
  static final StructLayout MODEL_PARAMS = MemoryLayout.structLayout(
      ADDRESS.withName("devices"),
      JAVA_INT.withName("n_gpu_layers"),
      JAVA_INT.withName("split_mode"),
      JAVA_INT.withName("main_gpu"),
      MemoryLayout.paddingLayout(4),
      ADDRESS.withName("tensor_split"),
      ADDRESS.withName("progress_callback"),
      ADDRESS.withName("progress_callback_user_data"),
      ADDRESS.withName("kv_overrides"),
      JAVA_BOOLEAN.withName("vocab_only"),
      JAVA_BOOLEAN.withName("use_mmap"),
      JAVA_BOOLEAN.withName("use_mlock"),
      JAVA_BOOLEAN.withName("check_tensors"),
      MemoryLayout.paddingLayout(4));

  /** {@code struct llama_context_params} of b4916: 120 bytes. */
  static final StructLayout CONTEXT_PARAMS = MemoryLayout.structLayout(
      JAVA_INT.withName("n_ctx"),
      JAVA_INT.withName("n_batch"),
      JAVA_INT.withName("n_ubatch"),
      JAVA_INT.withName("n_seq_max"),
      JAVA_INT.withName("n_threads"),
      JAVA_INT.withName("n_threads_batch"),
      JAVA_INT.withName("rope_scaling_type"),
      JAVA_INT.withName("pooling_type"),
      JAVA_INT.withName("attention_type"),
      JAVA_FLOAT.withName("rope_freq_base"),
      JAVA_FLOAT.withName("rope_freq_scale"),
      JAVA_FLOAT.withName("yarn_ext_factor"),
      JAVA_FLOAT.withName("yarn_attn_factor"),
      JAVA_FLOAT.withName("yarn_beta_fast"),
      JAVA_FLOAT.withName("yarn_beta_slow"),
      JAVA_INT.withName("yarn_orig_ctx"),
      JAVA_FLOAT.withName("defrag_thold"),
      MemoryLayout.paddingLayout(4),
      ADDRESS.withName("cb_eval"),
      ADDRESS.withName("cb_eval_user_data"),
      JAVA_INT.withName("type_k"),
      JAVA_INT.withName("type_v"),
      JAVA_BOOLEAN.withName("logits_all"),
      JAVA_BOOLEAN.withName("embeddings"),
      JAVA_BOOLEAN.withName("offload_kqv"),
      JAVA_BOOLEAN.withName("flash_attn"),
      JAVA_BOOLEAN.withName("no_perf"),
      MemoryLayout.paddingLayout(3),
      ADDRESS.withName("abort_callback"),
      ADDRESS.withName("abort_callback_data"));

  /** {@code struct llama_batch}: 56 bytes, the same since the batch API appeared. */
  static final StructLayout BATCH = MemoryLayout.structLayout(
      JAVA_INT.withName("n_tokens"),
      MemoryLayout.paddingLayout(4),
      ADDRESS.withName("token"),
      ADDRESS.withName("embd"),
      ADDRESS.withName("pos"),
      ADDRESS.withName("n_seq_id"),
      ADDRESS.withName("seq_id"),
      ADDRESS.withName("logits"));

  private static final System.Logger LOG = System.getLogger("io.disagg.backend.llamacpp");

  final MethodHandle modelDefaultParams;
  final MethodHandle modelLoadFromFile;
  final MethodHandle modelFree;
  final MethodHandle contextDefaultParams;
  final MethodHandle initFromModel;
  final MethodHandle free;
  final MethodHandle modelGetVocab;
  final MethodHandle vocabNTokens;
  final MethodHandle modelNLayer;
  final MethodHandle modelNEmbd;
  final MethodHandle modelNHead;
  final MethodHandle modelNHeadKv;
  final MethodHandle modelNCtxTrain;
  final MethodHandle modelNParams;
  final MethodHandle modelSize;
  final MethodHandle decode;
  final MethodHandle getLogitsIth;
  final MethodHandle kvSeqRm;
  final MethodHandle kvSeqCp;
  final MethodHandle stateSeqGetSize;
  final MethodHandle stateSeqGetData;
  final MethodHandle stateSeqSetData;
  final MethodHandle printSystemInfo;
  private final String commit;

  private static volatile LlamaLibrary instance;

  private LlamaLibrary(SymbolLookup lookup, Path path) {
    Linker linker = Linker.nativeLinker();
    modelDefaultParams = bind(linker, lookup, "llama_model_default_params", FunctionDescriptor.of(MODEL_PARAMS));
    modelLoadFromFile = bind(linker, lookup, "llama_model_load_from_file",
        FunctionDescriptor.of(ADDRESS, ADDRESS, MODEL_PARAMS));
    modelFree = bind(linker, lookup, "llama_model_free", FunctionDescriptor.ofVoid(ADDRESS));
    contextDefaultParams = bind(linker, lookup, "llama_context_default_params",
        FunctionDescriptor.of(CONTEXT_PARAMS));
    initFromModel = bind(linker, lookup, "llama_init_from_model",
        FunctionDescriptor.of(ADDRESS, ADDRESS, CONTEXT_PARAMS));
    free = bind(linker, lookup, "llama_free", FunctionDescriptor.ofVoid(ADDRESS));
    modelGetVocab = bind(linker, lookup, "llama_model_get_vocab", FunctionDescriptor.of(ADDRESS, ADDRESS));
    vocabNTokens = bind(linker, lookup, "llama_vocab_n_tokens", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    modelNLayer = bind(linker, lookup, "llama_model_n_layer", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    modelNEmbd = bind(linker, lookup, "llama_model_n_embd", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    modelNHead = bind(linker, lookup, "llama_model_n_head", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    modelNHeadKv = bind(linker, lookup, "llama_model_n_head_kv", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    modelNCtxTrain = bind(linker, lookup, "llama_model_n_ctx_train", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    modelNParams = bind(linker, lookup, "llama_model_n_params", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
    modelSize = bind(linker, lookup, "llama_model_size", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
    decode = bind(linker, lookup, "llama_decode", FunctionDescriptor.of(JAVA_INT, ADDRESS, BATCH));
    getLogitsIth = bind(linker, lookup, "llama_get_logits_ith",
        FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
    kvSeqRm = bind(linker, lookup, "llama_kv_self_seq_rm",
        FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT));
    kvSeqCp = bind(linker, lookup, "llama_kv_self_seq_cp",
        FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    stateSeqGetSize = bind(linker, lookup, "llama_state_seq_get_size",
        FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_INT));
    stateSeqGetData = bind(linker, lookup, "llama_state_seq_get_data",
        FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT));
    stateSeqSetData = bind(linker, lookup, "llama_state_seq_set_data",
        FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT));
    printSystemInfo = bind(linker, lookup, "llama_print_system_info", FunctionDescriptor.of(ADDRESS));

    MemorySegment buildNumber = lookup.find("LLAMA_BUILD_NUMBER").orElseThrow(() -> refuse(path,
        "no LLAMA_BUILD_NUMBER symbol"));
    int build = buildNumber.reinterpret(4).get(JAVA_INT, 0);
    commit = lookup.find("LLAMA_COMMIT")
        .map(s -> s.reinterpret(8).get(ADDRESS, 0).reinterpret(64).getString(0))
        .orElse("unknown");
    if (build != BUILD_NUMBER) {
      throw refuse(path, "it is build b" + build + " (commit " + commit + ")");
    }
    checkDefaults(path);
    silenceLogs(linker, lookup);
    try {
      MethodHandle init = bind(linker, lookup, "llama_backend_init", FunctionDescriptor.ofVoid());
      init.invokeExact();
    } catch (Throwable t) {
      throw new BackendException(Code.INTERNAL, "llama_backend_init failed: " + t, t);
    }
  }

  /**
   * The library, loaded on first use.
   *
   * @param override a library file to use instead of the carrier jar's, or {@code null}
   * @throws BackendException {@code MODEL_INVALID} when the library is missing, not loadable, or another build
   */
  static LlamaLibrary load(Path override) {
    LlamaLibrary lib = instance;
    if (lib != null) {
      return lib;
    }
    synchronized (LlamaLibrary.class) {
      if (instance == null) {
        Path path = override != null ? override : extractCarrier();
        SymbolLookup lookup;
        try {
          lookup = SymbolLookup.libraryLookup(path, Arena.global());
        } catch (IllegalArgumentException e) {
          throw new BackendException(Code.MODEL_INVALID, "llama.cpp library " + path + ": cannot load: "
              + e.getMessage(), e);
        }
        instance = new LlamaLibrary(lookup, path);
      }
      return instance;
    }
  }

  /** {@code llama.cpp-b4916}: the engine tag in every KV fingerprint this build produces. */
  String engineTag() {
    return "llama.cpp-b" + BUILD_NUMBER;
  }

  String commit() {
    return commit;
  }

  String systemInfo() {
    try {
      return ((MemorySegment) printSystemInfo.invokeExact()).reinterpret(4096).getString(0);
    } catch (Throwable t) {
      throw new BackendException(Code.INTERNAL, "llama_print_system_info: " + t, t);
    }
  }

  private static Path extractCarrier() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
      throw new BackendException(Code.MODEL_INVALID, "llama.cpp backend: the bundled library is for Linux x86_64, "
          + "this is " + os + "/" + arch + " (expected: option llamacpp.library naming a b" + BUILD_NUMBER
          + " build)");
    }
    try (InputStream in = LlamaLibrary.class.getClassLoader().getResourceAsStream(CARRIER_RESOURCE)) {
      if (in == null) {
        throw new BackendException(Code.MODEL_INVALID, "llama.cpp backend: " + CARRIER_RESOURCE
            + " not on the class path (expected: the de.kherud:llama jar)");
      }
      Path dir = Files.createTempDirectory("disagg-llamacpp-");
      Path file = dir.resolve("libllama-b" + BUILD_NUMBER + ".so");
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
      file.toFile().deleteOnExit();
      dir.toFile().deleteOnExit();
      return file;
    } catch (IOException e) {
      throw new BackendException(Code.MODEL_INVALID, "llama.cpp backend: cannot extract " + CARRIER_RESOURCE
          + ": " + e, e);
    }
  }

  /** The defaults b4916 returns, read at this file's offsets: a different struct layout shows up here. */
  private void checkDefaults(Path path) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment m = (MemorySegment) modelDefaultParams.invokeExact((SegmentAllocator) arena);
      MemorySegment c = (MemorySegment) contextDefaultParams.invokeExact((SegmentAllocator) arena);
      boolean ok = m.get(JAVA_INT, 12) == 1 // split_mode LLAMA_SPLIT_MODE_LAYER
          && m.get(JAVA_BOOLEAN, 0x39) // use_mmap
          && !m.get(JAVA_BOOLEAN, 0x3a) // use_mlock
          && c.get(JAVA_INT, 0) == 512 && c.get(JAVA_INT, 4) == 2048 && c.get(JAVA_INT, 8) == 512
          && c.get(JAVA_INT, 12) == 1
          && c.get(JAVA_FLOAT, 0x34) == 32.0f // yarn_beta_fast
          && c.get(JAVA_FLOAT, 0x40) == -1.0f // defrag_thold
          && c.get(JAVA_INT, 0x58) == GGML_TYPE_F16 && c.get(JAVA_INT, 0x5c) == GGML_TYPE_F16
          && c.get(JAVA_BOOLEAN, 0x62) // offload_kqv
          && !c.get(JAVA_BOOLEAN, 0x63) // flash_attn
          && c.get(JAVA_BOOLEAN, 0x64); // no_perf
      if (!ok) {
        throw refuse(path, "its default parameters do not sit where build b" + BUILD_NUMBER + " puts them");
      }
    } catch (BackendException e) {
      throw e;
    } catch (Throwable t) {
      throw new BackendException(Code.INTERNAL, "llama.cpp default parameters: " + t, t);
    }
  }

  private static BackendException refuse(Path path, String why) {
    return new BackendException(Code.MODEL_INVALID, "llama.cpp library " + path + " is not the pinned build b"
        + BUILD_NUMBER + ": " + why + " (expected: the library from de.kherud:llama 4.2.0)");
  }

  /** Routes llama.cpp's log lines to {@link System.Logger}: errors at WARNING, the rest (its warnings too) at DEBUG. */
  private static void silenceLogs(Linker linker, SymbolLookup lookup) {
    try {
      MethodHandle target = MethodHandles.lookup().findStatic(LlamaLibrary.class, "log",
          MethodType.methodType(void.class, int.class, MemorySegment.class, MemorySegment.class));
      MemorySegment stub = linker.upcallStub(target, FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS, ADDRESS),
          Arena.global());
      MethodHandle set = bind(linker, lookup, "llama_log_set", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
      set.invokeExact(stub, MemorySegment.NULL);
    } catch (Throwable t) {
      throw new BackendException(Code.INTERNAL, "llama_log_set: " + t, t);
    }
  }

  /** Called by llama.cpp from any of its threads; must not throw. */
  private static void log(int level, MemorySegment text, MemorySegment userData) {
    try {
      // ggml_log_level: 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 cont
      System.Logger.Level l = level == 4 ? System.Logger.Level.WARNING : System.Logger.Level.DEBUG;
      if (LOG.isLoggable(l)) {
        LOG.log(l, text.reinterpret(65536).getString(0).stripTrailing());
      }
    } catch (RuntimeException e) {
      // a log line is not worth crashing the native caller for
    }
  }

  private static MethodHandle bind(Linker linker, SymbolLookup lookup, String name, FunctionDescriptor fd) {
    MemorySegment symbol = lookup.find(name).orElseThrow(() -> new BackendException(Code.MODEL_INVALID,
        "llama.cpp library lacks " + name + " (expected: build b" + BUILD_NUMBER + ")"));
    return linker.downcallHandle(symbol, fd);
  }
}
