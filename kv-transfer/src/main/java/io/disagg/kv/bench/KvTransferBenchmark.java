package io.disagg.kv.bench;

import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvBlockPools;
import io.disagg.backend.spi.KvDtype;
import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.ModelFingerprint;
import io.disagg.kv.KvAddress;
import io.disagg.kv.KvTransferClient;
import io.disagg.kv.KvTransferHeaders;
import io.disagg.kv.KvTransferServer;
import io.disagg.kv.PoolKvDestination;
import io.disagg.kv.ReceivedKv;
import io.disagg.proto.v1.KvTransferHeader;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * {@code ./disagg bench kv-transfer}: moves 1 MiB, 16 MiB and 256 MiB KV caches (256 KiB blocks: 4 layers x 4 KV
 * heads x 64 dims x F32 x 32 tokens) from one off-heap pool to another in this JVM, over loopback TCP, a Unix socket
 * and TCP with TLS (a {@link SelfSignedTls} certificate; its baseline is the plaintext one, so its ratio is TLS's
 * cost), with this transport and with a raw baseline measured in the same run, rep by rep interleaved: a plain
 * blocking {@link SocketChannel} writing the same blocks' memory and reading straight into destination blocks, with
 * the same CRC32C work on both sides (and once more without it, for reference). Times are push-to-consumer
 * (transport) and first-byte-to-ack (raw); figures are medians over reps, after a warm-up that runs until the JIT
 * compilers fall quiet. Heap bytes per KV byte come from the JVM's per-thread allocation counters summed over all
 * threads during the transport pushes.
 */
public final class KvTransferBenchmark {
  private static final KvLayout LAYOUT = new KvLayout(4, 4, 64, KvDtype.F32, 32);
  private static final ModelFingerprint FINGERPRINT = new ModelFingerprint("0f".repeat(32), LAYOUT);
  private static final long MIB = 1 << 20;
  private static long[] SIZES = {MIB, 16 * MIB, 256 * MIB};
  private static int[] REPS = {60, 12, 15};
  private static List<String> TRANSPORTS = List.of("tcp", "uds", "tls");
  private static boolean preferNative = true;
  private static int frameBytes = 0;

  private KvTransferBenchmark() {}

  /**
   * Options: {@code --transports tcp,uds,tls}, {@code --sizes-mib 1,16,256} with {@code --reps 60,12,15}, {@code --nio}
   * (force the NIO transport), {@code --frame-bytes N} (client DATA frame size; default the client's).
   */
  public static void main(String[] args) throws Exception {
    try {
      if (!parse(args)) {
        System.out.println(USAGE);
        return;
      }
    } catch (IllegalArgumentException e) {
      System.err.println("disagg bench kv-transfer: " + e.getMessage() + "\n" + USAGE);
      System.exit(2);
      return;
    }
    run();
  }

  private static final String USAGE = """
      usage: disagg bench kv-transfer [--transports tcp,uds,tls] [--sizes-mib 1,16,256 --reps 60,12,15] [--nio]
                                      [--frame-bytes N]""";

  /** Reads the options into the fields; false for --help. */
  private static boolean parse(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--help") || flag.equals("-h")) {
        return false;
      }
      if (flag.equals("--nio")) {
        preferNative = false;
        continue;
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(flag + ": missing value");
      }
      String value = args[++i];
      try {
        switch (flag) {
          case "--transports" -> {
            TRANSPORTS = List.of(value.split(","));
            for (String t : TRANSPORTS) {
              if (!t.equals("tcp") && !t.equals("uds") && !t.equals("tls")) {
                throw new IllegalArgumentException("--transports: " + t + " (expected: tcp, uds or tls)");
              }
            }
          }
          case "--sizes-mib" -> SIZES = Arrays.stream(value.split(",")).mapToLong(v -> positive(flag, v) * MIB)
              .toArray();
          case "--reps" -> REPS = Arrays.stream(value.split(",")).mapToInt(v -> (int) positive(flag, v)).toArray();
          case "--frame-bytes" -> frameBytes = (int) positive(flag, value);
          default -> throw new IllegalArgumentException("unknown option " + flag
              + " (expected: --transports, --sizes-mib, --reps, --nio, --frame-bytes)");
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(flag + ": '" + value + "' (expected: comma-separated positive integers)");
      }
    }
    if (REPS.length != SIZES.length) {
      throw new IllegalArgumentException("--reps: " + REPS.length + " values (expected: one per size, "
          + SIZES.length + ")");
    }
    return true;
  }

  private static long positive(String flag, String value) {
    long v = Long.parseLong(value.strip());
    if (v < 1 || v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(flag + ": " + value + " (expected: 1.." + Integer.MAX_VALUE + ")");
    }
    return v;
  }

  private static void run() throws Exception {
    int maxBlocks = (int) (Arrays.stream(SIZES).max().orElseThrow() / LAYOUT.blockBytes());
    Path dir = Files.createTempDirectory("kv-bench");
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    List<String> summary = new ArrayList<>();
    try (KvBlockPool source = KvBlockPools.offHeap(LAYOUT, maxBlocks);
        KvBlockPool target = KvBlockPools.offHeap(LAYOUT, maxBlocks)) {
      KvReservation all = source.reserve(maxBlocks);
      fill(all, 42);
      PoolKvDestination destination = PoolKvDestination.builder().pool(target).fingerprint(FINGERPRINT).build();
      KvAddress udsAddress = KvAddress.unix(dir.resolve("kv.sock").toString());
      // TLS (TCP only) needs its own server and client: a TLS server requires TLS on every TCP connection.
      SelfSignedTls tls = TRANSPORTS.contains("tls") ? SelfSignedTls.create(dir) : null;
      try (KvTransferServer server = KvTransferServer.builder().secret(secret).destination(destination)
              .preferNative(preferNative).meterRegistry(new SimpleMeterRegistry())
              .bind(KvAddress.tcp("127.0.0.1", 0)).bind(udsAddress).start();
          KvTransferClient client = newClient(secret).build();
          KvTransferServer tlsServer = tls == null ? null : KvTransferServer.builder().secret(secret)
              .destination(destination).preferNative(preferNative).meterRegistry(new SimpleMeterRegistry())
              .sslContext(tls.serverContext()).bind(KvAddress.tcp("127.0.0.1", 0)).start();
          KvTransferClient tlsClient = tls == null ? null : newClient(secret).sslContext(tls.clientContext()).build()) {
        System.out.printf("kv-transfer benchmark: %s transport, %d-byte blocks, %d CPUs, JDK %s%s%n",
            client.transportName(), LAYOUT.blockBytes(), Runtime.getRuntime().availableProcessors(),
            Runtime.version(), tls == null ? "" : ", TLS engine " + tls.provider());
        for (String transport : TRANSPORTS) {
          KvAddress address = switch (transport) {
            case "uds" -> server.boundAddresses().get(1);
            case "tls" -> tlsServer.boundAddresses().get(0);
            default -> server.boundAddresses().get(0);
          };
          KvTransferClient sender = "tls".equals(transport) ? tlsClient : client;
          // Warm up the JIT and the buffer pools on every path until the compilers fall quiet: a C2 compile during a
          // measured rep takes one of the two cores from whichever side happens to run then. Every size up to 16 MiB
          // as measured (small caches take other branches: all payload within the eager credit), larger at 16 MiB.
          int[] warmBlocks = Arrays.stream(SIZES).mapToInt(size -> (int) Math.min(64, size / LAYOUT.blockBytes()))
              .distinct().toArray();
          int rounds = warmUp(() -> {
            for (int blocks : warmBlocks) {
              pushOnce(sender, destination, address, all, blocks, "warm", new long[1]);
              rawOnce(transport, dir, all, target, blocks, true);
              rawOnce(transport, dir, all, target, blocks, false);
            }
          });
          System.out.printf("  %s: %d warm-up rounds, JIT compile time so far %d ms%n", transport, rounds,
              compileMillis());
          for (int s = 0; s < SIZES.length; s++) {
            int blocks = (int) (SIZES[s] / LAYOUT.blockBytes());
            double[] ours = new double[REPS[s]];
            double[] raw = new double[REPS[s]];
            double[] wire = new double[REPS[s]];
            long[] allocated = new long[1];
            long[] cpu = new long[3];
            long[] wall = new long[3];
            // Interleaved, so a burst of load from elsewhere on the box hits all three alike.
            for (int r = 0; r < REPS[s]; r++) {
              long c0 = processCpuNanos();
              long t0 = System.nanoTime();
              ours[r] = pushOnce(sender, destination, address, all, blocks, "b" + s + "-" + r, allocated);
              long c1 = processCpuNanos();
              long t1 = System.nanoTime();
              raw[r] = rawOnce(transport, dir, all, target, blocks, true);
              long c2 = processCpuNanos();
              long t2 = System.nanoTime();
              wire[r] = rawOnce(transport, dir, all, target, blocks, false);
              cpu[0] += c1 - c0;
              cpu[1] += c2 - c1;
              cpu[2] += processCpuNanos() - c2;
              wall[0] += t1 - t0;
              wall[1] += t2 - t1;
              wall[2] += System.nanoTime() - t2;
            }
            double x = median(ours);
            double y = median(raw);
            double w = median(wire);
            double perByte = (double) allocated[0] / ((double) SIZES[s] * REPS[s]);
            System.out.printf("  %s %4d MiB: kv-transfer %.2f GB/s (best %.2f), raw %.2f GB/s (best %.2f), "
                    + "ratio %.2f, heap bytes/KV byte %.5f; raw without CRC %.2f GB/s (best %.2f), ratio %.2f%n",
                transport, SIZES[s] / MIB, x, max(ours), y, max(raw), x / y, perByte, w, max(wire), x / w);
            System.out.printf("  %s %4d MiB: CPU cores busy (process CPU / wall): kv-transfer %.2f, raw %.2f, "
                    + "raw without CRC %.2f%n", transport, SIZES[s] / MIB, (double) cpu[0] / wall[0],
                (double) cpu[1] / wall[1], (double) cpu[2] / wall[2]);
            double[] pairRatios = new double[REPS[s]];
            for (int r = 0; r < REPS[s]; r++) {
              pairRatios[r] = ours[r] / raw[r];
            }
            Arrays.sort(pairRatios);
            System.out.printf("  %s %4d MiB: ratio of each rep to the raw rep beside it: min %.2f, median %.2f, max %.2f%n",
                transport, SIZES[s] / MIB, pairRatios[0], median(pairRatios), pairRatios[pairRatios.length - 1]);
            summary.add(String.format("kv-transfer %s %dMiB: %.2f GB/s, raw %.2f GB/s, ratio %.2f, heap bytes/KV byte "
                + "%.5f (raw without CRC %.2f GB/s, ratio %.2f)", transport, SIZES[s] / MIB, x, y, x / y, perByte, w,
                x / w));
          }
        }
      }
      all.close();
      destination.close();
    }
    Files.deleteIfExists(dir.resolve("raw.sock"));
    Files.deleteIfExists(dir.resolve("kv.sock"));
    Files.deleteIfExists(dir);
    summary.forEach(System.out::println);
  }

  private static KvTransferClient.Builder newClient(byte[] secret) {
    KvTransferClient.Builder builder = KvTransferClient.builder().secret(secret).preferNative(preferNative)
        .meterRegistry(new SimpleMeterRegistry());
    return frameBytes > 0 ? builder.maxDataFrameBytes(frameBytes) : builder;
  }

  /** One push of the first {@code blocks} blocks; returns GB/s from the call to the receiver's consumer. */
  private static double pushOnce(KvTransferClient client, PoolKvDestination destination, KvAddress address,
      KvReservation all, int blocks, String id, long[] allocated) throws Exception {
    List<MemorySegment> segments = new ArrayList<>(blocks);
    for (int i = 0; i < blocks; i++) {
      segments.add(all.blocks().get(i).segment().asReadOnly());
    }
    int tokens = blocks * LAYOUT.blockTokens();
    KvExport export = new KvExport(id, FINGERPRINT, tokens, new int[tokens], segments);
    KvTransferHeader header = KvTransferHeaders.forExport(export, "");
    CompletableFuture<ReceivedKv> arrived = destination.await(id);
    long allocBefore = allocatedBytes();
    long start = System.nanoTime();
    client.push(address, header, export).get(60, TimeUnit.SECONDS);
    ReceivedKv kv = arrived.get(60, TimeUnit.SECONDS);
    long nanos = System.nanoTime() - start;
    allocated[0] += allocatedBytes() - allocBefore;
    kv.reservation().close();
    return export.bytes() / (double) nanos;
  }

  /**
   * The baseline: a blocking socket, block memory written and read in place, one ack byte at the end. With
   * {@code crc}, it does the same integrity work as the transport: the sender computes CRC32C over each block before
   * writing it and sends the value after the payload, the receiver computes it over each block as it lands and
   * compares before acking.
   */
  private static double rawOnce(String transport, Path dir, KvReservation all, KvBlockPool target, int blocks,
      boolean crc) throws Exception {
    ServerSocketChannel listener;
    SocketAddress address;
    if ("uds".equals(transport)) {
      Path p = dir.resolve("raw.sock");
      Files.deleteIfExists(p);
      listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      address = UnixDomainSocketAddress.of(p);
      listener.bind(address);
    } else {
      listener = ServerSocketChannel.open();
      listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      address = listener.getLocalAddress();
    }
    try (listener; KvReservation into = target.reserve(blocks)) {
      CompletableFuture<Void> received = CompletableFuture.runAsync(() -> {
        try (SocketChannel in = listener.accept()) {
          CRC32C check = new CRC32C();
          for (KvBlock b : into.blocks()) {
            ByteBuffer dst = b.segment().asByteBuffer();
            while (dst.hasRemaining()) {
              int from = dst.position();
              if (in.read(dst) < 0) {
                throw new IOException("raw sender closed early");
              }
              if (crc) {
                check.update(dst.duplicate().position(from).limit(dst.position()));
              }
            }
          }
          if (crc) {
            ByteBuffer sent = ByteBuffer.allocate(4);
            while (sent.hasRemaining()) {
              if (in.read(sent) < 0) {
                throw new IOException("raw sender closed early");
              }
            }
            if (sent.getInt(0) != (int) check.getValue()) {
              throw new IOException("raw CRC32C mismatch");
            }
          }
          in.write(ByteBuffer.allocate(1));
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }, r -> Thread.ofPlatform().daemon().start(r));
      try (SocketChannel out = SocketChannel.open(address)) {
        if (!"uds".equals(transport)) {
          out.socket().setTcpNoDelay(true);
        }
        long start = System.nanoTime();
        CRC32C check = new CRC32C();
        for (int i = 0; i < blocks; i++) {
          ByteBuffer src = all.blocks().get(i).segment().asByteBuffer();
          if (crc) {
            check.update(src);
            src.rewind();
          }
          while (src.hasRemaining()) {
            out.write(src);
          }
        }
        if (crc) {
          ByteBuffer value = ByteBuffer.allocate(4).putInt(0, (int) check.getValue());
          while (value.hasRemaining()) {
            out.write(value);
          }
        }
        ByteBuffer ack = ByteBuffer.allocate(1);
        while (ack.hasRemaining() && out.read(ack) >= 0) {
          // Wait for the receiver's ack byte.
        }
        long nanos = System.nanoTime() - start;
        received.get(60, TimeUnit.SECONDS);
        return blocks * LAYOUT.blockBytes() / (double) nanos;
      }
    }
  }

  private interface Round {
    void run() throws Exception;
  }

  /**
   * Runs {@code round} at least {@value #MIN_WARM_UP} times, then until {@value #QUIET_ROUNDS} rounds in a row add
   * less than {@value #QUIET_COMPILE_MILLIS} ms of JIT compile time (at most {@value #MAX_WARM_UP}); returns the
   * rounds run.
   */
  private static int warmUp(Round round) throws Exception {
    int rounds = 0;
    int quiet = 0;
    while (rounds < MAX_WARM_UP && (rounds < MIN_WARM_UP || quiet < QUIET_ROUNDS)) {
      long before = compileMillis();
      round.run();
      rounds++;
      quiet = compileMillis() - before < QUIET_COMPILE_MILLIS ? quiet + 1 : 0;
    }
    return rounds;
  }

  private static final int MIN_WARM_UP = 25;
  private static final int MAX_WARM_UP = 400;
  private static final int QUIET_ROUNDS = 5;
  private static final int QUIET_COMPILE_MILLIS = 2;

  private static long compileMillis() {
    return ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
  }

  private static long processCpuNanos() {
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    return os.getProcessCpuTime();
  }

  private static long allocatedBytes() {
    var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    return bean.getTotalThreadAllocatedBytes();
  }

  private static void fill(KvReservation r, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    for (KvBlock b : r.blocks()) {
      MemorySegment s = b.segment();
      for (long i = 0, n = s.byteSize() / 8; i < n; i++) {
        s.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
      }
    }
  }

  private static double median(double[] v) {
    double[] c = v.clone();
    Arrays.sort(c);
    return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
  }

  private static double max(double[] v) {
    return Arrays.stream(v).max().orElse(0);
  }
}
