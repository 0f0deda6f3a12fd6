package io.disagg.router.internal;

import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.PrefillWorkerGrpc;
import io.disagg.proto.v1.WorkerHealth;
import io.disagg.router.WorkerRole;
import io.disagg.router.WorkerSnapshot;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One registered worker: its channel, its last health report, and the load the router put on it since. Thread-safe:
 * the health poller writes the report, request threads move the counters.
 */
public final class WorkerHandle {
  private final String id;
  private final WorkerRole role;
  private final String address;
  private final ManagedChannel channel;
  private final CircuitBreaker breaker;
  private final AtomicInteger active = new AtomicInteger();
  private final AtomicInteger unreportedRequests = new AtomicInteger();
  private final AtomicLong unreportedPromptTokens = new AtomicLong();
  private volatile State state = new State(null, false, "not polled yet");

  private record State(WorkerHealth health, boolean inRotation, String reason) {}

  WorkerHandle(String id, WorkerRole role, String address, ManagedChannel channel, CircuitBreaker breaker) {
    this.id = Objects.requireNonNull(id, "id");
    this.role = Objects.requireNonNull(role, "role");
    this.address = Objects.requireNonNull(address, "address");
    this.channel = Objects.requireNonNull(channel, "channel");
    this.breaker = Objects.requireNonNull(breaker, "breaker");
  }

  static WorkerHandle connect(WorkerRole role, String address, Resilience resilience) {
    ManagedChannel channel = Grpc.newChannelBuilder(address, InsecureChannelCredentials.create()).build();
    return new WorkerHandle(address, role, address, channel, resilience.breaker(role, address));
  }

  /** This worker's circuit breaker, fed by the outcome of every RPC the router sends it (not health polls). */
  public CircuitBreaker breaker() {
    return breaker;
  }

  /**
   * Whether the breaker lets calls through. An open breaker whose wait is over moves to half-open here (taking and
   * returning one permit), because a worker kept out of selection would otherwise never be called to close it again.
   */
  boolean breakerAdmits() {
    return switch (breaker.getState()) {
      case CLOSED, HALF_OPEN, DISABLED, METRICS_ONLY -> true;
      case FORCED_OPEN -> false;
      case OPEN -> {
        if (breaker.tryAcquirePermission()) {
          breaker.releasePermission();
          yield true;
        }
        yield false;
      }
    };
  }

  public String id() {
    return id;
  }

  public WorkerRole role() {
    return role;
  }

  public String address() {
    return address;
  }

  ManagedChannel channel() {
    return channel;
  }

  PrefillWorkerGrpc.PrefillWorkerStub prefillStub() {
    return PrefillWorkerGrpc.newStub(channel);
  }

  DecodeWorkerGrpc.DecodeWorkerStub decodeStub() {
    return DecodeWorkerGrpc.newStub(channel);
  }

  public boolean inRotation() {
    return state.inRotation() && breakerAdmits();
  }

  /** Records a health report and decides whether the worker is in rotation. */
  /** KV blocks the worker's last report says ReserveKv reservations hold (not free, not running sequences'). */
  int reportedReservedKvBlocks() {
    WorkerHealth health = state.health();
    return health == null ? 0 : health.getReservedKvBlocks();
  }

  void applyHealth(WorkerHealth health, String modelSha256) {
    String reason = rejectReason(health, modelSha256);
    // The report now includes everything the router started before it, so the correction starts over.
    unreportedRequests.set(0);
    unreportedPromptTokens.set(0);
    state = new State(health, reason.isEmpty(), reason);
  }

  private String rejectReason(WorkerHealth health, String modelSha256) {
    WorkerHealth.Role expected = role == WorkerRole.PREFILL ? WorkerHealth.Role.ROLE_PREFILL
        : WorkerHealth.Role.ROLE_DECODE;
    if (health.getRole() != WorkerHealth.Role.ROLE_UNSPECIFIED && health.getRole() != expected) {
      return "registered as " + role.name().toLowerCase(Locale.ROOT) + " but reports " + health.getRole();
    }
    String fingerprint = health.getModelFingerprint();
    int slash = fingerprint.indexOf('/');
    String sha = slash < 0 ? fingerprint : fingerprint.substring(0, slash);
    if (!sha.equalsIgnoreCase(modelSha256)) {
      return "serves model " + (fingerprint.isEmpty() ? "(none)" : fingerprint) + ", router serves " + modelSha256;
    }
    if (!health.getReady()) {
      return "reports not ready";
    }
    return "";
  }

  /** Takes the worker out of rotation until a health poll succeeds again. */
  void markUnreachable(String reason) {
    State current = state;
    state = new State(current.health(), false, reason);
  }

  void started(int promptTokens) {
    active.incrementAndGet();
    unreportedRequests.incrementAndGet();
    unreportedPromptTokens.addAndGet(promptTokens);
  }

  void finished(int promptTokens) {
    active.decrementAndGet();
    unreportedRequests.decrementAndGet();
    unreportedPromptTokens.addAndGet(-promptTokens);
  }

  public WorkerSnapshot snapshot() {
    State s = state;
    WorkerHealth h = s.health() == null ? WorkerHealth.getDefaultInstance() : s.health();
    boolean admits = breakerAdmits();
    String reason = s.inRotation() && !admits ? "circuit breaker " + breaker.getState() : s.reason();
    return new WorkerSnapshot(id, role, address, s.inRotation() && admits, reason, h.getModelFingerprint(),
        h.getKvAddress(), h.getQueueDepth(), h.getTokensInFlight(), h.getRunningSequences(), h.getFreeKvBlocks(),
        h.getTotalKvBlocks(), h.getBlockTokens(), h.getRecentTokensPerSecond(), active.get(),
        unreportedRequests.get(), unreportedPromptTokens.get(), h.getKvBytesPerToken());
  }

  void shutdown() {
    channel.shutdownNow();
  }

  void awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    channel.awaitTermination(timeout, unit);
  }

  @Override
  public String toString() {
    return role.name().toLowerCase(Locale.ROOT) + " worker " + id;
  }
}
