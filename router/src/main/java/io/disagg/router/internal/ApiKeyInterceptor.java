package io.disagg.router.internal;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Admits a gRPC call only when its {@code authorization} metadata is {@code Bearer <key>} with one of the configured
 * keys, the header the OpenAI SDKs and {@code disagg-client} send; anything else ends the call UNAUTHENTICATED before
 * the service sees it. Keys are compared in constant time so that response timing does not reveal a key's prefix.
 */
public final class ApiKeyInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String BEARER = "Bearer ";

  private final List<byte[]> keys = new ArrayList<>();

  /** @param keys accepted keys; at least one, none blank */
  public ApiKeyInterceptor(Collection<String> keys) {
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("keys: none (expected: at least one key; without keys install no interceptor)");
    }
    for (String key : keys) {
      if (key == null || key.isBlank()) {
        throw new IllegalArgumentException("keys: blank key (expected: non-blank keys)");
      }
      this.keys.add(key.getBytes(StandardCharsets.UTF_8));
    }
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String header = headers.get(AUTHORIZATION);
    Status refusal = null;
    if (header == null) {
      refusal = Status.UNAUTHENTICATED.withDescription(
          "missing API key (expected: metadata 'authorization: Bearer <key>')");
    } else if (!header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      refusal = Status.UNAUTHENTICATED.withDescription(
          "authorization metadata is not a bearer token (expected: 'Bearer <key>')");
    } else if (!accepted(header.substring(BEARER.length()).strip())) {
      refusal = Status.UNAUTHENTICATED.withDescription("API key not accepted");
    }
    if (refusal != null) {
      call.close(refusal, new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }

  private boolean accepted(String presented) {
    byte[] candidate = presented.getBytes(StandardCharsets.UTF_8);
    boolean match = false;
    for (byte[] key : keys) {
      // Every key is compared, so the time taken does not say which one (if any) matched.
      match |= MessageDigest.isEqual(key, candidate);
    }
    return match;
  }
}
