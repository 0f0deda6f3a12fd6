package io.disagg.router.internal;

import io.disagg.router.WorkerRole;
import io.disagg.router.WorkerSnapshot;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The workers the router was configured with, in registration order. Immutable membership; thread-safe. */
public final class WorkerRegistry implements AutoCloseable {
  private final List<WorkerHandle> workers;
  private final Map<String, WorkerHandle> byId;

  public WorkerRegistry(List<String> prefillAddresses, List<String> decodeAddresses, Resilience resilience) {
    List<WorkerHandle> all = new ArrayList<>();
    Map<String, WorkerHandle> ids = new LinkedHashMap<>();
    for (String address : prefillAddresses) {
      add(all, ids, WorkerRole.PREFILL, address, resilience);
    }
    for (String address : decodeAddresses) {
      add(all, ids, WorkerRole.DECODE, address, resilience);
    }
    this.workers = List.copyOf(all);
    this.byId = Map.copyOf(ids);
  }

  private static void add(List<WorkerHandle> all, Map<String, WorkerHandle> ids, WorkerRole role, String address,
      Resilience resilience) {
    String key = role + "/" + address;
    if (ids.containsKey(key)) {
      throw new IllegalArgumentException("worker registered twice: " + role + " " + address);
    }
    WorkerHandle handle = WorkerHandle.connect(role, address, resilience);
    all.add(handle);
    ids.put(key, handle);
  }

  public List<WorkerHandle> all() {
    return workers;
  }

  public WorkerHandle get(WorkerRole role, String id) {
    WorkerHandle handle = byId.get(role + "/" + id);
    if (handle == null) {
      throw new IllegalArgumentException("unknown " + role + " worker: " + id);
    }
    return handle;
  }

  public List<WorkerSnapshot> snapshots(WorkerRole role) {
    List<WorkerSnapshot> out = new ArrayList<>();
    for (WorkerHandle w : workers) {
      if (w.role() == role) {
        out.add(w.snapshot());
      }
    }
    return out;
  }

  public List<WorkerSnapshot> inRotation(WorkerRole role) {
    return snapshots(role).stream().filter(WorkerSnapshot::inRotation).toList();
  }

  @Override
  public void close() {
    for (WorkerHandle w : workers) {
      w.shutdown();
    }
    for (WorkerHandle w : workers) {
      try {
        w.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
