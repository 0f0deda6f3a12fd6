package io.disagg.openai.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Status;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The one place that turns failures into OpenAI errors: gRPC {@link Status}es from the {@code InferenceService}, and
 * the front end's own rejections (bad JSON, auth, limits). Keeping it in one class keeps the documented error table
 * (README) and the code from drifting apart.
 */
public final class ErrorMapper {
  static final String INVALID_REQUEST = "invalid_request_error";
  static final String SERVER_ERROR = "server_error";
  static final String RATE_LIMIT = "rate_limit_error";
  /** Seconds clients should wait after a 429 or 503; short because both clear as soon as a generation finishes. */
  static final int RETRY_AFTER_SECONDS = 1;

  private ErrorMapper() {}

  /** Maps a status from the {@code InferenceService} to what an OpenAI client expects for the same situation. */
  public static ApiError fromStatus(Status status) {
    String description = status.getDescription();
    String message = description == null || description.isEmpty()
        ? status.getCode().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') : description;
    return switch (status.getCode()) {
      case INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS -> badRequest(message, null, null);
      case OUT_OF_RANGE -> badRequest(message, "messages", "context_length_exceeded");
      case NOT_FOUND -> new ApiError(HttpResponseStatus.NOT_FOUND, message, INVALID_REQUEST, null, "not_found", 0);
      case UNAUTHENTICATED -> unauthorized(message);
      case PERMISSION_DENIED ->
          new ApiError(HttpResponseStatus.FORBIDDEN, message, INVALID_REQUEST, null, "permission_denied", 0);
      case RESOURCE_EXHAUSTED -> overloaded(message);
      case UNAVAILABLE, CANCELLED, ABORTED -> new ApiError(HttpResponseStatus.SERVICE_UNAVAILABLE, message,
          SERVER_ERROR, null, "service_unavailable", RETRY_AFTER_SECONDS);
      case DEADLINE_EXCEEDED ->
          new ApiError(HttpResponseStatus.GATEWAY_TIMEOUT, message, SERVER_ERROR, null, "timeout", 0);
      case UNIMPLEMENTED ->
          new ApiError(HttpResponseStatus.NOT_IMPLEMENTED, message, SERVER_ERROR, null, "not_implemented", 0);
      case OK, UNKNOWN, INTERNAL, DATA_LOSS ->
          new ApiError(HttpResponseStatus.INTERNAL_SERVER_ERROR, message, SERVER_ERROR, null, "internal_error", 0);
    };
  }

  /** Maps anything thrown while serving; unexpected exceptions become a 500 without leaking their details. */
  public static ApiError fromThrowable(Throwable t) {
    if (t instanceof ApiException e) {
      return e.error();
    }
    if (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
      return fromThrowable(t.getCause());
    }
    Status status = Status.fromThrowable(t);
    if (status.getCode() == Status.Code.UNKNOWN) {
      return new ApiError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal server error", SERVER_ERROR, null,
          "internal_error", 0);
    }
    return fromStatus(status);
  }

  public static ApiError badRequest(String message, String param, String code) {
    return new ApiError(HttpResponseStatus.BAD_REQUEST, message, INVALID_REQUEST, param, code, 0);
  }

  public static ApiException invalid(String param, String message) {
    return new ApiException(badRequest(message, param, "invalid_value"));
  }

  public static ApiError unauthorized(String message) {
    return new ApiError(HttpResponseStatus.UNAUTHORIZED, message, INVALID_REQUEST, null, "invalid_api_key", 0);
  }

  public static ApiError overloaded(String message) {
    return new ApiError(HttpResponseStatus.TOO_MANY_REQUESTS, message, RATE_LIMIT, null, "rate_limit_exceeded",
        RETRY_AFTER_SECONDS);
  }

  public static ApiError notFound(String message, String param, String code) {
    return new ApiError(HttpResponseStatus.NOT_FOUND, message, INVALID_REQUEST, param, code, 0);
  }

  public static ApiError methodNotAllowed(String method, String path) {
    return new ApiError(HttpResponseStatus.METHOD_NOT_ALLOWED, "Method " + method + " is not allowed on " + path,
        INVALID_REQUEST, null, "method_not_allowed", 0);
  }

  public static ApiError tooLarge(long limit) {
    return new ApiError(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
        "Request body is larger than the limit of " + limit + " bytes", INVALID_REQUEST, null, "request_too_large", 0);
  }

  /** The {@code {"error":{...}}} body; {@code param} and {@code code} are written as {@code null} when absent. */
  public static ObjectNode toJson(ObjectMapper json, ApiError error) {
    ObjectNode root = json.createObjectNode();
    ObjectNode body = root.putObject("error");
    body.put("message", error.message());
    body.put("type", error.type());
    body.put("param", error.param());
    body.put("code", error.code());
    return root;
  }
}
