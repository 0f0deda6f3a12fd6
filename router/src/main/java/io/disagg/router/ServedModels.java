package io.disagg.router;

import io.disagg.gguf.GgufFile;
import io.disagg.gguf.GgufTokenizers;
import java.nio.file.Path;

/** Loads a {@link ServedModel} from a model file. */
public final class ServedModels {
  private ServedModels() {}

  /**
   * Reads the tokenizer and the metadata {@code GetModel} reports from a GGUF file, and hashes it (every worker's
   * fingerprint must start with this sha256). The weights are mapped only while reading and never used.
   *
   * @throws io.disagg.gguf.GgufException when the file is missing, malformed, or lacks tokenizer metadata
   */
  public static ServedModel fromGguf(Path path) {
    try (GgufFile file = GgufFile.open(path)) {
      String architecture = file.findString("general.architecture").orElse("unknown");
      // The file name, not general.name: converters often leave general.name generic ("llama"), while the file name
      // is what operators pass around and what clients are told to send as `model`.
      String name = stripExtension(path.getFileName().toString());
      int contextLength = Math.toIntExact(file.findLong(architecture + ".context_length").orElse(2048));
      return new ServedModel(name, architecture, contextLength, file.sha256(),
          file.findString("tokenizer.chat_template"), GgufTokenizers.fromGguf(file));
    }
  }

  private static String stripExtension(String fileName) {
    int dot = fileName.lastIndexOf('.');
    return dot > 0 ? fileName.substring(0, dot) : fileName;
  }
}
