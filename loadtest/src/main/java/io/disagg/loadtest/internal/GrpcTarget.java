package io.disagg.loadtest.internal;

import io.disagg.client.DisaggClient;
import io.disagg.client.GenerateListener;
import io.disagg.client.GenerateResult;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.ServeMode;
import io.disagg.proto.v1.TokenIds;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Arrays;

/** Sends {@code GenerateStream} calls through the SDK. Greedy, so colocated and disaggregated runs are comparable. */
public final class GrpcTarget implements Target {

    private final DisaggClient client;
    private final String model;
    private final ServeMode forceMode;
    private volatile int vocabSize;

    public GrpcTarget(String hostPort, String apiKey, String model, ServeMode forceMode, Duration requestTimeout) {
        var builder = DisaggClient.builder().target(hostPort).usePlaintext().defaultDeadline(requestTimeout);
        if (apiKey != null && !apiKey.isEmpty()) {
            builder.apiKey(apiKey);
        }
        this.client = builder.build();
        this.model = model == null ? "" : model;
        this.forceMode = forceMode;
    }

    @Override
    public Runnable send(Prompt prompt, int maxTokens, Observer observer) {
        var request = GenerateRequest.newBuilder().setMaxTokens(maxTokens).setModel(model).setForceMode(forceMode);
        if (prompt.text() != null) {
            request.setText(prompt.text());
        } else {
            request.setTokenIds(TokenIds.newBuilder().addAllIds(Arrays.stream(prompt.tokenIds()).boxed().toList()));
        }
        var stream = client.generateStream(request.build(), new GenerateListener() {
            private int seen;

            @Override
            public void onChunk(GenerateChunk chunk) {
                if (chunk.getTokenIdsCount() > 0) {
                    seen += chunk.getTokenIdsCount();
                    observer.onTokens(chunk.getTokenIdsCount());
                }
            }

            @Override
            public void onCompleted(GenerateResult result) {
                int out = result.usage().completionTokens() > 0 ? result.usage().completionTokens() : seen;
                observer.onDone(result.usage().promptTokens(), out, result.usage().cachedPromptTokens());
            }

            @Override
            public void onError(StatusRuntimeException error) {
                observer.onError(error.getStatus().getCode().name());
            }
        });
        return () -> stream.cancel("load test stopped");
    }

    @Override
    public int vocabSize() {
        if (vocabSize == 0) {
            vocabSize = client.model().getVocabSize();
        }
        return vocabSize;
    }

    @Override
    public void close() {
        client.close();
    }
}
