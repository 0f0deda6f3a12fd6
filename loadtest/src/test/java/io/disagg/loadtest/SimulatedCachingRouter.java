package io.disagg.loadtest;

import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GetModelRequest;
import io.disagg.proto.v1.ModelDescription;
import io.disagg.proto.v1.RouterGrpc;
import io.disagg.proto.v1.Usage;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * A <b>simulated</b> Disagg router with a {@link SimulatedPrefixCache}, on a loopback port, for testing what the load
 * generator reads from gRPC usage: {@code GenerateStream} answers {@code max_tokens} one-token chunks at once, then a
 * final chunk whose usage reports the prompt's tokens and the part the cache already held as
 * {@code cached_prompt_tokens}. {@code GetModel} reports a vocabulary of {@link #VOCAB_SIZE}. No model, no delays.
 */
final class SimulatedCachingRouter implements AutoCloseable {

    static final int VOCAB_SIZE = 1000;

    private final SimulatedPrefixCache prefixCache = new SimulatedPrefixCache();
    private final Queue<GenerateRequest> requests = new ConcurrentLinkedQueue<>();
    private final Server server;

    SimulatedCachingRouter() throws IOException {
        server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .addService(new Service()).build().start();
    }

    String target() {
        return InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.getPort();
    }

    List<GenerateRequest> requests() {
        return List.copyOf(requests);
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
    }

    private final class Service extends RouterGrpc.RouterImplBase {

        @Override
        public void generateStream(GenerateRequest request, StreamObserver<GenerateChunk> out) {
            requests.add(request);
            List<String> prompt = request.hasTokenIds()
                    ? SimulatedPrefixCache.tokens(request.getTokenIds().getIdsList())
                    : SimulatedPrefixCache.tokens(request.getText());
            int cached = prefixCache.cachedThenRemember(prompt);
            for (int i = 0; i < request.getMaxTokens(); i++) {
                out.onNext(GenerateChunk.newBuilder().setRequestId(request.getRequestId()).addTokenIds(100 + i)
                        .setTextDelta("t" + i + " ").build());
            }
            out.onNext(GenerateChunk.newBuilder().setRequestId(request.getRequestId())
                    .setFinishReason(FinishReason.FINISH_REASON_LENGTH)
                    .setUsage(Usage.newBuilder().setPromptTokens(prompt.size())
                            .setCompletionTokens(request.getMaxTokens()).setCachedPromptTokens(cached))
                    .build());
            out.onCompleted();
        }

        @Override
        public void getModel(GetModelRequest request, StreamObserver<ModelDescription> out) {
            out.onNext(ModelDescription.newBuilder().setName("simulated").setVocabSize(VOCAB_SIZE).build());
            out.onCompleted();
        }
    }
}
