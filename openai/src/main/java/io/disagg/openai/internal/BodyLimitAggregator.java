package io.disagg.openai.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;

/**
 * {@link HttpObjectAggregator} whose 413 carries an OpenAI error body instead of an empty one. Per channel (it
 * aggregates state).
 *
 * <p>An oversized request closes the connection: the rest of its body is still in flight and would otherwise be read
 * as the next request.
 */
final class BodyLimitAggregator extends HttpObjectAggregator {
  private final ObjectMapper json;
  private final int maxBodyBytes;

  BodyLimitAggregator(int maxBodyBytes, ObjectMapper json) {
    super(maxBodyBytes, true);
    this.maxBodyBytes = maxBodyBytes;
    this.json = json;
  }

  @Override
  protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
    Object response = super.newContinueResponse(start, maxContentLength, pipeline);
    if (response instanceof FullHttpResponse full
        && full.status().equals(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE)) {
      // Replace Netty's empty 413 (ours owns a fresh buffer that the write releases).
      ReferenceCountUtil.release(full);
      return HttpResponses.errorResponse(ErrorMapper.tooLarge(maxBodyBytes), false, json);
    }
    return response;
  }

  @Override
  protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
    if (oversized instanceof HttpRequest) {
      ctx.writeAndFlush(HttpResponses.errorResponse(ErrorMapper.tooLarge(maxBodyBytes), false, json))
          .addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.close();
    }
  }
}
