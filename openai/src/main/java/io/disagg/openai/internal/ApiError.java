package io.disagg.openai.internal;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * One OpenAI error response: HTTP status plus the {@code {"error":{"message","type","param","code"}}} body.
 *
 * @param param the request parameter at fault, or {@code null}
 * @param code OpenAI's machine-readable code, or {@code null}
 * @param retryAfterSeconds value of the {@code Retry-After} header, or 0 for none
 */
public record ApiError(HttpResponseStatus status, String message, String type, String param, String code,
                       int retryAfterSeconds) {}
