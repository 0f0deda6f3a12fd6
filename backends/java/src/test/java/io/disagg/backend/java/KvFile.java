package io.disagg.backend.java;

import io.disagg.backend.spi.KvDtype;
import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvImport;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.ModelFingerprint;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.IntFunction;

/**
 * A KV export written to a file for another process: a small header (request id, fingerprint, tokens, the first
 * sampled token) followed by the raw blocks, copied straight from and into block segments. Stands in for the wire.
 */
final class KvFile {
  private static final int MAGIC = 0x4B564631; // "KVF1"

  private KvFile() {}

  /** What a reader gets back besides the block bytes. */
  record Header(KvImport kvImport, int blockCount, int firstToken) {}

  static void write(Path file, KvExport export, int firstToken) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      DataOutputStream out = new DataOutputStream(Channels.newOutputStream(channel));
      out.writeInt(MAGIC);
      out.writeUTF(export.requestId());
      out.writeUTF(export.fingerprint().modelSha256());
      KvLayout l = export.layout();
      out.writeInt(l.layers());
      out.writeInt(l.kvHeads());
      out.writeInt(l.headDim());
      out.writeUTF(l.dtype().name());
      out.writeInt(l.blockTokens());
      out.writeInt(export.tokens().length);
      for (int t : export.tokens()) {
        out.writeInt(t);
      }
      out.writeInt(firstToken);
      out.writeInt(export.blocks().size());
      out.flush();
      for (MemorySegment block : export.blocks()) {
        ByteBuffer bytes = block.asByteBuffer();
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
      }
    }
  }

  /** Reads the header, then fills the blocks of the reservation {@code reserve} makes for the block count. */
  static Header read(Path file, IntFunction<KvReservation> reserve, KvReservation[] reserved) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      DataInputStream in = new DataInputStream(Channels.newInputStream(channel));
      if (in.readInt() != MAGIC) {
        throw new IOException(file + ": not a KV file");
      }
      String requestId = in.readUTF();
      String sha = in.readUTF();
      KvLayout layout = new KvLayout(in.readInt(), in.readInt(), in.readInt(), KvDtype.valueOf(in.readUTF()),
          in.readInt());
      int[] tokens = new int[in.readInt()];
      for (int i = 0; i < tokens.length; i++) {
        tokens[i] = in.readInt();
      }
      int firstToken = in.readInt();
      int blocks = in.readInt();
      // DataInputStream over a channel stream reads nothing ahead, so the channel position is the header's end.
      KvReservation reservation = reserve.apply(blocks);
      reserved[0] = reservation;
      for (int i = 0; i < blocks; i++) {
        ByteBuffer target = reservation.blocks().get(i).segment().asSlice(0, layout.blockBytes()).asByteBuffer();
        while (target.hasRemaining()) {
          if (channel.read(target) < 0) {
            throw new IOException(file + ": truncated in block " + i);
          }
        }
      }
      return new Header(new KvImport(requestId, new ModelFingerprint(sha, layout), tokens), blocks, firstToken);
    }
  }
}
