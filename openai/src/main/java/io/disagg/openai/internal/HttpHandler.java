package io.disagg.openai.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.disagg.proto.v1.ModelDescription;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Set;

/**
 * Routes one connection's requests. Stateful, so one instance per channel: it serves one request at a time and
 * queues pipelined ones (HTTP/1.1 answers in order), and it owns the in-flight generation so that a disconnect
 * cancels it.
 *
 * <p>Ownership: every {@link FullHttpRequest} read here is released by this handler, either right after its body is
 * copied out or when the channel closes while it waits in the queue.
 */
public final class HttpHandler extends ChannelInboundHandlerAdapter {
  private static final String COMPLETIONS = "/v1/completions";
  private static final String CHAT = "/v1/chat/completions";
  private static final String MODELS = "/v1/models";
  private static final String HEALTH = "/health";
  private static final Map<String, Set<HttpMethod>> ROUTES = Map.of(
      COMPLETIONS, Set.of(HttpMethod.POST),
      CHAT, Set.of(HttpMethod.POST),
      MODELS, Set.of(HttpMethod.GET),
      HEALTH, Set.of(HttpMethod.GET));

  private final ServerContext server;
  private final ObjectMapper json;
  private final ArrayDeque<FullHttpRequest> pending = new ArrayDeque<>();
  private GenerationExchange current;
  private boolean busy;

  public HttpHandler(ServerContext server) {
    this.server = server;
    this.json = server.json();
  }

  /** Installs the HTTP codec, the body limit and a fresh handler on a new connection. */
  public static void install(ChannelPipeline pipeline, ServerContext server) {
    pipeline.addLast("http", new HttpServerCodec());
    pipeline.addLast("aggregate", new BodyLimitAggregator(server.maxBodyBytes(), server.json()));
    pipeline.addLast("openai", new HttpHandler(server));
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof FullHttpRequest request)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (busy || !pending.isEmpty()) {
      pending.add(request);
      return;
    }
    handle(ctx, request);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (current != null) {
      current.abort();
    }
    FullHttpRequest queued;
    while ((queued = pending.poll()) != null) {
      queued.release();
    }
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // Connection-level failures (reset by peer, TLS-less garbage): closing triggers channelInactive, which cancels.
    ctx.close();
  }

  private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
    boolean keepAlive;
    HttpMethod method;
    String path;
    String authorization;
    byte[] body;
    boolean decodeFailed;
    try {
      decodeFailed = request.decoderResult().isFailure();
      keepAlive = HttpUtil.isKeepAlive(request) && !decodeFailed;
      method = request.method();
      path = new QueryStringDecoder(request.uri()).path();
      authorization = request.headers().get(HttpHeaderNames.AUTHORIZATION);
      body = ByteBufUtil.getBytes(request.content());
    } finally {
      request.release();
    }
    if (decodeFailed) {
      HttpResponses.sendError(ctx, ErrorMapper.badRequest("malformed HTTP request", null, "invalid_request"), false,
          json);
      return;
    }
    try {
      route(ctx, method, normalize(path), authorization, body, keepAlive);
    } catch (ApiException e) {
      HttpResponses.sendError(ctx, e.error(), keepAlive, json);
    } catch (RuntimeException e) {
      HttpResponses.sendError(ctx, ErrorMapper.fromThrowable(e), keepAlive, json);
    }
  }

  private void route(ChannelHandlerContext ctx, HttpMethod method, String path, String authorization, byte[] body,
                     boolean keepAlive) {
    if (path.equals(HEALTH)) {
      requireMethod(method, path);
      health(ctx, keepAlive);
      return;
    }
    if (server.authRequired()) {
      authenticate(authorization);
    }
    if (path.startsWith(MODELS + "/")) {
      requireMethod(method, MODELS);
      model(ctx, path.substring(MODELS.length() + 1), keepAlive);
      return;
    }
    Set<HttpMethod> allowed = ROUTES.get(path);
    if (allowed == null) {
      throw new ApiException(ErrorMapper.notFound("Invalid URL (" + method + " " + path + ")", null, "unknown_url"));
    }
    requireMethod(method, path);
    switch (path) {
      case MODELS -> models(ctx, keepAlive);
      case COMPLETIONS -> generate(ctx, server.parser().parseCompletion(body), keepAlive);
      case CHAT -> generate(ctx, server.parser().parseChat(body), keepAlive);
      default -> throw new IllegalStateException("unrouted " + path);
    }
  }

  private static void requireMethod(HttpMethod method, String path) {
    Set<HttpMethod> allowed = ROUTES.get(path);
    if (!allowed.contains(method)) {
      throw new ApiException(ErrorMapper.methodNotAllowed(method.name(), path));
    }
  }

  private void authenticate(String authorization) {
    if (authorization == null || authorization.isBlank()) {
      throw new ApiException(ErrorMapper.unauthorized("You didn't provide an API key. You need to provide your API "
          + "key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."));
    }
    String prefix = "Bearer ";
    boolean bearer = authorization.regionMatches(true, 0, prefix, 0, prefix.length());
    if (!bearer || !server.acceptsKey(authorization.substring(prefix.length()).trim())) {
      throw new ApiException(ErrorMapper.unauthorized("Incorrect API key provided."));
    }
  }

  private void health(ChannelHandlerContext ctx, boolean keepAlive) {
    boolean ready = server.service().ready();
    ObjectNode body = json.createObjectNode().put("status", ready ? "ok" : "unavailable");
    HttpResponses.sendJson(ctx, ready ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, body,
        keepAlive, json);
  }

  private void models(ChannelHandlerContext ctx, boolean keepAlive) {
    ObjectNode body = json.createObjectNode();
    body.put("object", "list");
    ArrayNode data = body.putArray("data");
    data.add(modelObject(server.service().model()));
    HttpResponses.sendJson(ctx, HttpResponseStatus.OK, body, keepAlive, json);
  }

  private void model(ChannelHandlerContext ctx, String id, boolean keepAlive) {
    ModelDescription model = server.service().model();
    if (!model.getName().equals(id)) {
      throw modelNotFound(id);
    }
    HttpResponses.sendJson(ctx, HttpResponseStatus.OK, modelObject(model), keepAlive, json);
  }

  private ObjectNode modelObject(ModelDescription model) {
    ObjectNode m = json.createObjectNode();
    m.put("id", model.getName());
    m.put("object", "model");
    m.put("created", server.startedEpochSecond());
    m.put("owned_by", "disagg");
    ObjectNode ext = m.putObject("disagg");
    ext.put("architecture", model.getArchitecture());
    ext.put("context_length", model.getContextLength());
    ext.put("vocab_size", model.getVocabSize());
    ext.put("fingerprint", model.getFingerprint());
    return m;
  }

  private static ApiException modelNotFound(String id) {
    return new ApiException(ErrorMapper.notFound("The model `" + id + "` does not exist or you do not have access to "
        + "it.", "model", "model_not_found"));
  }

  private void generate(ChannelHandlerContext ctx, ParsedRequest request, boolean keepAlive) {
    ModelDescription model = server.service().model();
    if (!model.getName().equals(request.model())) {
      throw modelNotFound(request.model());
    }
    if (!server.service().ready()) {
      throw new ApiException(ErrorMapper.fromStatus(
          io.grpc.Status.UNAVAILABLE.withDescription("no decode worker is available to serve the request")));
    }
    if (!server.tryAcquire()) {
      throw new ApiException(ErrorMapper.overloaded("The server is handling too many requests; retry shortly."));
    }
    busy = true;
    GenerationExchange exchange = new GenerationExchange(ctx, server, request, keepAlive, () -> done(ctx));
    current = exchange;
    exchange.start(model);
  }

  /** Runs once per exchange, on the event loop: frees the slot and serves the next pipelined request. */
  private void done(ChannelHandlerContext ctx) {
    server.release();
    current = null;
    busy = false;
    if (!ctx.channel().isActive()) {
      return;
    }
    if (!pending.isEmpty()) {
      // Later, not now: the exchange that just ended is still unwinding its own stack. Busy until then, so that a
      // request arriving meanwhile queues behind the ones already waiting.
      busy = true;
      ctx.executor().execute(() -> {
        busy = false;
        drain(ctx);
      });
    }
  }

  private void drain(ChannelHandlerContext ctx) {
    while (!busy && ctx.channel().isActive()) {
      FullHttpRequest next = pending.poll();
      if (next == null) {
        return;
      }
      handle(ctx, next);
    }
  }

  private static String normalize(String path) {
    return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }
}
