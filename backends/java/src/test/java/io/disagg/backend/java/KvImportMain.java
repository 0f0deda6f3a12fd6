package io.disagg.backend.java;

import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.BackendException;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.Sequence;
import java.nio.file.Path;
import java.util.List;
import java.util.StringJoiner;

/**
 * The importing side of the cross-process test, run in a separate JVM: opens the model, imports the KV file, decodes
 * and prints {@code TOKENS <ids>}; prints {@code REFUSED <code> <message>} and exits 3 when import is refused.
 *
 * <p>Arguments: model path, KV file, decode steps, threads.
 */
public final class KvImportMain {
  private KvImportMain() {}

  public static void main(String[] args) throws Exception {
    Path model = Path.of(args[0]);
    Path kvFile = Path.of(args[1]);
    int steps = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);
    try (JavaBackend backend = JavaBackend.open(BackendConfig.builder(model).threads(threads).kvBlocks(64)
        .blockTokens(16).build())) {
      KvReservation[] reserved = new KvReservation[1];
      // One spare block beyond the cached tokens, for decode growth.
      KvFile.Header header = KvFile.read(kvFile, n -> backend.kvPool().reserve(n + 1), reserved);
      Sequence sequence;
      try {
        sequence = backend.importKv(reserved[0], header.kvImport());
      } catch (BackendException e) {
        reserved[0].close();
        System.out.println("REFUSED " + e.code() + " " + e.getMessage());
        System.out.flush();
        System.exit(3);
        return;
      }
      StringJoiner out = new StringJoiner(" ");
      int token = header.firstToken();
      for (int i = 0; i < steps; i++) {
        token = backend.decode(List.of(new DecodeSlot(sequence, token, SamplingParams.greedy()))).getFirst()
            .tokenId();
        out.add(Integer.toString(token));
      }
      sequence.close();
      System.out.println("TOKENS " + out);
    }
  }
}
