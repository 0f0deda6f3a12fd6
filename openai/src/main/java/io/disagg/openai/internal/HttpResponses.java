package io.disagg.openai.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/** Writes complete JSON responses. The response buffers pass to Netty with the write, which releases them. */
final class HttpResponses {
  private HttpResponses() {}

  static ChannelFuture sendJson(ChannelHandlerContext ctx, HttpResponseStatus status, JsonNode body,
                                boolean keepAlive, ObjectMapper json) {
    return send(ctx, response(status, body, keepAlive, json), keepAlive);
  }

  static ChannelFuture sendError(ChannelHandlerContext ctx, ApiError error, boolean keepAlive, ObjectMapper json) {
    return send(ctx, errorResponse(error, keepAlive, json), keepAlive);
  }

  /** A new response holding a fresh buffer; the caller owns it until it writes it. */
  static FullHttpResponse errorResponse(ApiError error, boolean keepAlive, ObjectMapper json) {
    FullHttpResponse response = response(error.status(), ErrorMapper.toJson(json, error), keepAlive, json);
    if (error.retryAfterSeconds() > 0) {
      response.headers().set(HttpHeaderNames.RETRY_AFTER, error.retryAfterSeconds());
    }
    if (error.status().equals(HttpResponseStatus.UNAUTHORIZED)) {
      response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
    }
    return response;
  }

  private static FullHttpResponse response(HttpResponseStatus status, JsonNode body, boolean keepAlive,
                                           ObjectMapper json) {
    byte[] bytes;
    try {
      bytes = json.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree always serializes", e);
    }
    FullHttpResponse response =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(bytes));
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
    if (!keepAlive) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return response;
  }

  private static ChannelFuture send(ChannelHandlerContext ctx, FullHttpResponse response, boolean keepAlive) {
    ChannelFuture future = ctx.writeAndFlush(response);
    future.addListener(keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE : ChannelFutureListener.CLOSE);
    return future;
  }
}
