package io.disagg.openai.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.disagg.openai.InferenceService;
import io.disagg.proto.v1.ModelDescription;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;

/** Everything the per-channel handlers share: configuration, the service, the in-flight limit. Thread-safe. */
public final class ServerContext {
  private static final char[] ID_ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

  private final InferenceService service;
  private final ObjectMapper json = new ObjectMapper();
  private final RequestParser parser = new RequestParser(json);
  private final Clock clock;
  private final RandomGenerator random;
  private final List<byte[]> apiKeys;
  private final int maxConcurrentRequests;
  private final int maxBodyBytes;
  private final Executor blockingExecutor;
  private final String bosToken;
  private final String eosToken;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final long startedEpochSecond;
  private volatile ChatTemplate template;

  public ServerContext(InferenceService service, Clock clock, RandomGenerator random, List<String> apiKeys,
                       int maxConcurrentRequests, int maxBodyBytes, Executor blockingExecutor, String bosToken,
                       String eosToken) {
    this.service = service;
    this.clock = clock;
    this.random = random;
    this.apiKeys = apiKeys.stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
    this.maxConcurrentRequests = maxConcurrentRequests;
    this.maxBodyBytes = maxBodyBytes;
    this.blockingExecutor = blockingExecutor;
    this.bosToken = bosToken;
    this.eosToken = eosToken;
    this.startedEpochSecond = clock.instant().getEpochSecond();
  }

  public InferenceService service() {
    return service;
  }

  public ObjectMapper json() {
    return json;
  }

  public RequestParser parser() {
    return parser;
  }

  public Clock clock() {
    return clock;
  }

  public int maxBodyBytes() {
    return maxBodyBytes;
  }

  public Executor blockingExecutor() {
    return blockingExecutor;
  }

  public long startedEpochSecond() {
    return startedEpochSecond;
  }

  /** Whether the server was configured with API keys (otherwise it is open). */
  public boolean authRequired() {
    return !apiKeys.isEmpty();
  }

  /** Constant-time comparison against every configured key, so timing does not reveal a key's prefix. */
  public boolean acceptsKey(String presented) {
    byte[] bytes = presented.getBytes(StandardCharsets.UTF_8);
    boolean ok = false;
    for (byte[] key : apiKeys) {
      ok |= MessageDigest.isEqual(key, bytes);
    }
    return ok;
  }

  /** Takes one of the {@code maxConcurrentRequests} slots; {@code false} means answer 429. */
  public boolean tryAcquire() {
    if (inFlight.incrementAndGet() > maxConcurrentRequests) {
      inFlight.decrementAndGet();
      return false;
    }
    return true;
  }

  public void release() {
    inFlight.decrementAndGet();
  }

  public int inFlight() {
    return inFlight.get();
  }

  /** OpenAI-style id: prefix plus 24 random alphanumerics. */
  public String newId(String prefix) {
    char[] chars = new char[24];
    synchronized (random) {
      for (int i = 0; i < chars.length; i++) {
        chars[i] = ID_ALPHABET[random.nextInt(ID_ALPHABET.length)];
      }
    }
    return prefix + new String(chars);
  }

  /** The template for the model's current chat template; rebuilt only when the model's template changes. */
  public ChatTemplate chatTemplate(ModelDescription model) {
    ChatTemplate current = template;
    String source = model.getChatTemplate();
    if (current == null || !current.source().equals(source)) {
      current = new ChatTemplate(source, bosToken, eosToken, clock);
      template = current;
    }
    return current;
  }
}
