package io.disagg.loadtest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A <b>simulated</b> OpenAI-compatible completions server for load-generator tests: {@code POST /v1/completions}
 * with {@code stream: true} answers {@code max_tokens} SSE chunks {@code "t<i> "}, then a usage chunk and
 * {@code [DONE]}. Usage counts prompt tokens as {@link SimulatedPrefixCache#tokens} does and reports the part a
 * {@link SimulatedPrefixCache} already held as {@code prompt_tokens_details.cached_tokens}. Every
 * {@code failEvery}-th request gets HTTP 503 instead. No model, no delays; loopback only.
 */
final class SimulatedOpenAiServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(4);
    private final AtomicInteger requests = new AtomicInteger();
    private final Queue<String> authorizations = new ConcurrentLinkedQueue<>();
    private final SimulatedPrefixCache prefixCache = new SimulatedPrefixCache();
    private volatile int failEvery;

    SimulatedOpenAiServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/completions", this::complete);
        server.createContext("/v1/models", this::models);
        server.setExecutor(executor);
        server.start();
    }

    String baseUrl() {
        return "http://" + InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.getAddress().getPort();
    }

    SimulatedOpenAiServer failEvery(int n) {
        this.failEvery = n;
        return this;
    }

    int requests() {
        return requests.get();
    }

    List<String> authorizations() {
        return List.copyOf(authorizations);
    }

    /** Lists one model, so a load test without --model resolves it as it would against a real router. */
    private void models(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] body = "{\"object\":\"list\",\"data\":[{\"id\":\"simulated\",\"object\":\"model\"}]}"
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
        }
    }

    private void complete(HttpExchange exchange) throws IOException {
        try (exchange) {
            int n = requests.incrementAndGet();
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            authorizations.add(auth == null ? "" : auth);
            var body = JSON.readTree(exchange.getRequestBody());
            if (failEvery > 0 && n % failEvery == 0) {
                byte[] err = "{\"error\":{\"message\":\"simulated overload\",\"type\":\"server_error\"}}"
                        .getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(503, err.length);
                exchange.getResponseBody().write(err);
                return;
            }
            int maxTokens = body.path("max_tokens").asInt(16);
            var prompt = body.path("prompt");
            var ids = new ArrayList<Integer>();
            prompt.forEach(id -> ids.add(id.asInt()));
            List<String> tokens = prompt.isArray() ? SimulatedPrefixCache.tokens(ids)
                    : SimulatedPrefixCache.tokens(prompt.asText());
            int promptTokens = tokens.size();
            int cachedTokens = prefixCache.cachedThenRemember(tokens);
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            OutputStream out = exchange.getResponseBody();
            for (int i = 0; i < maxTokens; i++) {
                event(out, "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"t"
                        + i + " \",\"finish_reason\":null}]}");
            }
            event(out, "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
                    + promptTokens + ",\"completion_tokens\":" + maxTokens + ",\"total_tokens\":"
                    + (promptTokens + maxTokens) + ",\"prompt_tokens_details\":{\"cached_tokens\":" + cachedTokens
                    + "}}}");
            event(out, "[DONE]");
        }
    }

    private static void event(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
