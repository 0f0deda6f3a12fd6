package io.disagg.router;

/** Builds {@link WorkerSnapshot}s for selector and classifier tests. */
final class Snapshots {
  private Snapshots() {}

  static WorkerSnapshot idle(String id, WorkerRole role) {
    return of(id, role, 0, 0, 0, 100, 100, 0);
  }

  static WorkerSnapshot of(String id, WorkerRole role, int running, int queue, int tokensInFlight, int freeBlocks,
      int totalBlocks, int unreported) {
    return new WorkerSnapshot(id, role, id, true, "", SimulatedModel.FINGERPRINT, "", queue, tokensInFlight, running,
        freeBlocks, totalBlocks, 16, 0.0, 0, unreported, 0);
  }
}
