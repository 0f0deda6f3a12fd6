package io.disagg.loadtest.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Sends streaming {@code POST /v1/completions} requests ({@code stream: true}, {@code include_usage}) and reads the
 * server-sent events. Every SSE chunk with non-empty text counts as one token arrival for TTFT and ITL; token counts
 * come from the final usage chunk, cached prompt tokens from its {@code prompt_tokens_details.cached_tokens} (0 when
 * absent). Greedy ({@code temperature: 0}).
 */
public final class OpenAiTarget implements Target {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final URI completions;
    private final String apiKey;
    private final URI models;
    private final String configuredModel;
    private volatile String model;
    private final int vocabSize;
    private final Duration requestTimeout;

    public OpenAiTarget(URI baseUrl, String apiKey, String model, int vocabSize, Duration requestTimeout) {
        String base = baseUrl.toString().replaceAll("/+$", "");
        String v1 = base.endsWith("/v1") ? base : base + "/v1";
        this.completions = URI.create(v1 + "/completions");
        this.models = URI.create(v1 + "/models");
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        this.apiKey = apiKey;
        this.configuredModel = model == null ? "" : model;
        this.vocabSize = vocabSize;
        this.requestTimeout = requestTimeout;
    }

    /**
     * The configured model, or the only one the server lists: OpenAI's API requires {@code model}, and an empty
     * {@code --model} means "the only model served".
     *
     * @throws IllegalStateException when the server lists no model or several, or cannot be asked
     */
    String model() {
        String resolved = model;
        if (resolved != null) {
            return resolved;
        }
        synchronized (this) {
            if (model == null) {
                model = configuredModel.isEmpty() ? onlyServedModel() : configuredModel;
            }
            return model;
        }
    }

    private String onlyServedModel() {
        var request = HttpRequest.newBuilder(models).timeout(requestTimeout).GET();
        if (apiKey != null && !apiKey.isEmpty()) {
            request.header("Authorization", "Bearer " + apiKey);
        }
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("GET " + models + ": HTTP " + response.statusCode() + " "
                        + response.body() + " (pass --model to skip this lookup)");
            }
            JsonNode data = JSON.readTree(response.body()).path("data");
            if (data.size() != 1) {
                throw new IllegalStateException("GET " + models + " lists " + data.size()
                        + " models (expected: exactly one; pass --model)");
            }
            return data.get(0).path("id").asText();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("GET " + models + ": " + e.getMessage() + " (pass --model)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while asking " + models + " for the model", e);
        }
    }

    @Override
    public Runnable send(Prompt prompt, int maxTokens, Observer observer) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model());
        if (prompt.text() != null) {
            body.put("prompt", prompt.text());
        } else {
            var ids = body.putArray("prompt");
            for (int id : prompt.tokenIds()) {
                ids.add(id);
            }
        }
        body.put("max_tokens", maxTokens);
        body.put("temperature", 0);
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        var request = HttpRequest.newBuilder(completions)
                .timeout(requestTimeout)
                .header("Content-Type", "application/json")
                .header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (apiKey != null && !apiKey.isEmpty()) {
            request.header("Authorization", "Bearer " + apiKey);
        }
        var events = new SseSubscriber(observer);
        CompletableFuture<HttpResponse<Void>> response = http.sendAsync(request.build(),
                info -> {
                    events.status = info.statusCode();
                    return HttpResponse.BodySubscribers.fromLineSubscriber(events);
                });
        response.whenComplete((r, e) -> {
            if (e != null) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                events.fail(cause.getClass().getSimpleName());
            }
        });
        return () -> {
            events.fail("CANCELLED");
            response.cancel(true);
            events.cancelSubscription();
        };
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public void close() {
        http.close();
    }

    /** Parses {@code data:} lines; one instance per request. */
    static final class SseSubscriber implements Flow.Subscriber<String> {
        private final Observer observer;
        private final AtomicBoolean done = new AtomicBoolean();
        volatile int status;
        private volatile Flow.Subscription subscription;
        private int promptTokens = -1;
        private int cachedPromptTokens;
        private int outputTokens;
        private int chunks;

        SseSubscriber(Observer observer) {
            this.observer = observer;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
            if (status != 200 || !line.startsWith("data:")) {
                return;
            }
            String data = line.substring(5).strip();
            if (data.equals("[DONE]")) {
                finish();
                return;
            }
            JsonNode event;
            try {
                event = JSON.readTree(data);
            } catch (Exception e) {
                fail("bad_sse_json");
                cancelSubscription();
                return;
            }
            if (event.has("error")) {
                fail("stream_error");
                cancelSubscription();
                return;
            }
            JsonNode choices = event.path("choices");
            if (choices.isArray() && !choices.isEmpty()) {
                JsonNode c = choices.get(0);
                String text = c.has("text") ? c.path("text").asText("") : c.path("delta").path("content").asText("");
                if (!text.isEmpty() && !done.get()) {
                    chunks++;
                    observer.onTokens(1);
                }
            }
            JsonNode usage = event.path("usage");
            if (usage.isObject()) {
                promptTokens = usage.path("prompt_tokens").asInt(0);
                outputTokens = usage.path("completion_tokens").asInt(0);
                cachedPromptTokens = usage.path("prompt_tokens_details").path("cached_tokens").asInt(0);
            }
        }

        @Override
        public void onError(Throwable t) {
            fail(t.getClass().getSimpleName());
        }

        @Override
        public void onComplete() {
            if (status != 200) {
                fail("HTTP " + status);
            } else {
                finish();
            }
        }

        private void finish() {
            if (promptTokens < 0) {
                fail("no_usage");
            } else if (done.compareAndSet(false, true)) {
                observer.onDone(promptTokens, outputTokens > 0 ? outputTokens : chunks, cachedPromptTokens);
            }
        }

        void fail(String type) {
            if (done.compareAndSet(false, true)) {
                observer.onError(type);
            }
        }

        void cancelSubscription() {
            var s = subscription;
            if (s != null) {
                s.cancel();
            }
        }
    }
}
