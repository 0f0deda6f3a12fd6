package io.disagg.kv.testing;

import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvBlockPools;
import io.disagg.backend.spi.KvLayout;
import io.disagg.kv.KvAddress;
import io.disagg.kv.KvTransferClient;
import io.disagg.kv.KvTransferServer;
import io.disagg.kv.PoolKvDestination;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * A prefill side (client + pool) and a decode side (server + pool + destination) on loopback TCP and a Unix socket.
 * {@code -Dkv.test.transport=nio} forces the NIO transport on both sides (the default prefers native epoll); tweaks
 * may override it.
 */
public final class Peers implements AutoCloseable {
  private static final boolean PREFER_NATIVE = !"nio".equals(System.getProperty("kv.test.transport"));

  public final KvLayout layout;
  public final KvBlockPool senderPool;
  public final KvBlockPool receiverPool;
  public final PoolKvDestination destination;
  public final SimpleMeterRegistry serverMeters = new SimpleMeterRegistry();
  public final SimpleMeterRegistry clientMeters = new SimpleMeterRegistry();
  public final KvTransferServer server;
  public final KvTransferClient client;

  public Peers(KvLayout layout, int senderBlocks, int receiverBlocks, Path socketDir,
      UnaryOperator<KvTransferServer.Builder> serverTweaks, UnaryOperator<KvTransferClient.Builder> clientTweaks) {
    this.layout = layout;
    this.senderPool = KvBlockPools.offHeap(layout, senderBlocks);
    this.receiverPool = KvBlockPools.offHeap(layout, receiverBlocks);
    this.destination = PoolKvDestination.builder().pool(receiverPool).fingerprint(TestKv.fingerprint(layout)).build();
    this.server = serverTweaks.apply(KvTransferServer.builder()
        .secret(TestKv.SECRET)
        .preferNative(PREFER_NATIVE)
        .destination(destination)
        .meterRegistry(serverMeters)
        .bind(KvAddress.tcp("127.0.0.1", 0))
        .bind(KvAddress.unix(socketDir.resolve("kv.sock").toString()))).start();
    this.client = clientTweaks.apply(KvTransferClient.builder()
        .secret(TestKv.SECRET)
        .preferNative(PREFER_NATIVE)
        .meterRegistry(clientMeters)
        .responseTimeout(Duration.ofSeconds(10))).build();
  }

  public Peers(KvLayout layout, int senderBlocks, int receiverBlocks, Path socketDir) {
    this(layout, senderBlocks, receiverBlocks, socketDir, b -> b, b -> b);
  }

  public KvAddress tcp() {
    return server.boundAddresses().get(0);
  }

  public KvAddress uds() {
    return server.boundAddresses().get(1);
  }

  public KvAddress address(String transport) {
    return "uds".equals(transport) ? uds() : tcp();
  }

  public double serverCount(String name, String... tags) {
    var c = serverMeters.find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  public double clientCount(String name, String... tags) {
    var c = clientMeters.find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  @Override
  public void close() {
    client.close();
    server.close();
    destination.close();
    senderPool.close();
    receiverPool.close();
  }
}
