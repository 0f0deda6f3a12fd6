package io.disagg.worker;

import io.disagg.backend.spi.Backend;
import io.disagg.proto.v1.WorkerHealth;

/** The part of the Health report every worker fills the same way. */
public final class WorkerHealths {
  private WorkerHealths() {}

  /**
   * A Health report with identity, readiness, model, KV pool and token rate set; the caller adds its queue depth,
   * tokens in flight, running sequences and (decode) kv address.
   */
  public static WorkerHealth.Builder builder(String workerId, WorkerHealth.Role role, boolean ready, Backend backend,
      RateMeter tokenRate) {
    var pool = backend.kvPool();
    var layout = pool.layout();
    return WorkerHealth.newBuilder()
        .setWorkerId(workerId)
        .setRole(role)
        .setReady(ready)
        .setModelFingerprint(backend.model().fingerprint().value())
        .setFreeKvBlocks(pool.freeBlocks())
        .setTotalKvBlocks(pool.totalBlocks())
        .setRecentTokensPerSecond(tokenRate.perSecond())
        .setBlockTokens(layout.blockTokens())
        .setKvBytesPerToken(layout.bytesPerToken());
  }
}
