package io.disagg.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every Disagg router must do for the SDK, whatever serves it. Subclasses provide a running router: the
 * {@link SimulatedRouterClientTest simulator} here, the real local cluster in the lead's integration tests. Nothing
 * here depends on the simulator's text, only on the protocol.
 */
public abstract class DisaggClientConformanceTest {

    /** Tokens asked for in normal requests; small so a CPU model answers fast. */
    protected static final int SHORT = 8;
    /** Tokens asked for where a request must still be running when the test acts on it. */
    protected static final int LONG = 256;

    protected DisaggClient client;

    /** {@code host:port} of a plaintext router that is up. */
    protected abstract String target();

    /** An API key the router accepts, or {@code null} when it runs without auth. */
    protected String apiKey() {
        return null;
    }

    /** A deadline the router cannot meet for a {@link #LONG} generation. */
    protected Duration unmeetableDeadline() {
        return Duration.ofMillis(50);
    }

    @BeforeEach
    void connect() {
        var builder = DisaggClient.builder().target(target()).usePlaintext()
                .defaultDeadline(Duration.ofSeconds(30));
        if (apiKey() != null) {
            builder.apiKey(apiKey());
        }
        client = builder.build();
    }

    @AfterEach
    void disconnect() {
        client.close();
    }

    protected static GenerateRequest greedy(String requestId, int maxTokens) {
        return GenerateRequest.newBuilder().setRequestId(requestId).setText("The quick brown fox jumps over")
                .setMaxTokens(maxTokens).build();
    }

    @Test
    void generate_blocking_returnsTextUsageAndTiming() {
        GenerateResult r = client.generate(greedy("conf-blocking", SHORT));

        assertThat(r.requestId()).isEqualTo("conf-blocking");
        assertThat(r.finishReason()).isIn(FinishReason.FINISH_REASON_LENGTH, FinishReason.FINISH_REASON_STOP);
        assertThat(r.tokenIds()).isNotEmpty().hasSizeLessThanOrEqualTo(SHORT);
        assertThat(r.usage().completionTokens()).isEqualTo(r.tokenIds().size());
        assertThat(r.usage().promptTokens()).isPositive();
        assertThat(r.timing().total()).isPositive().isGreaterThanOrEqualTo(r.timing().firstToken());
        assertThat(r.clientTiming().attempts()).isEqualTo(1);
    }

    @Test
    void generateAsync_greedy_matchesBlockingResult() throws Exception {
        GenerateResult blocking = client.generate(greedy("conf-a", SHORT));
        GenerateResult async = client.generateAsync(greedy("conf-b", SHORT)).get(30, TimeUnit.SECONDS);

        assertThat(async.text()).isEqualTo(blocking.text());
        assertThat(async.tokenIds()).isEqualTo(blocking.tokenIds());
    }

    @Test
    void generateStream_deliversChunksThenExactlyOneCompletion() throws Exception {
        var events = new RecordingListener();
        GenerateStream stream = client.generateStream(greedy("conf-stream", SHORT), events);
        GenerateResult result = stream.result().get(30, TimeUnit.SECONDS);

        assertThat(events.errors).isEmpty();
        assertThat(events.completions).containsExactly(result);
        GenerateChunk last = events.chunks.getLast();
        assertThat(last.getFinishReason()).isNotEqualTo(FinishReason.FINISH_REASON_UNSPECIFIED);
        assertThat(events.chunks.subList(0, events.chunks.size() - 1))
                .allSatisfy(c -> assertThat(c.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_UNSPECIFIED));
        assertThat(String.join("", events.chunks.stream().map(GenerateChunk::getTextDelta).toList()))
                .isEqualTo(result.text());
        assertThat(result.usage().completionTokens()).isEqualTo(result.tokenIds().size());
        assertThat(result.clientTiming().firstToken()).isPositive()
                .isLessThanOrEqualTo(result.clientTiming().total());
    }

    @Test
    void generateStream_greedy_matchesUnaryText() throws Exception {
        GenerateResult unary = client.generate(greedy("conf-u", SHORT));
        GenerateResult streamed = client.generateStream(greedy("conf-s", SHORT), c -> { })
                .result().get(30, TimeUnit.SECONDS);

        assertThat(streamed.text()).isEqualTo(unary.text());
        assertThat(streamed.tokenIds()).isEqualTo(unary.tokenIds());
    }

    @Test
    void generateStream_cancelledAfterFirstChunk_endsWithCancelledOnly() throws Exception {
        var events = new RecordingListener();
        var stream = new CompletableFuture<GenerateStream>();
        GenerateListener cancelOnFirst = new GenerateListener() {
            @Override
            public void onChunk(GenerateChunk chunk) {
                events.onChunk(chunk);
                if (events.chunks.size() == 1) {
                    // the first chunk can arrive before generateStream returned the handle
                    stream.thenAccept(s -> s.cancel("test cancels after the first chunk"));
                }
            }

            @Override
            public void onCompleted(GenerateResult result) {
                events.onCompleted(result);
            }

            @Override
            public void onError(StatusRuntimeException error) {
                events.onError(error);
            }
        };
        stream.complete(client.generateStream(greedy(cancelRequestId(), LONG), cancelOnFirst));

        assertThatThrownBy(() -> stream.join().result().get(30, TimeUnit.SECONDS))
                .cause().isInstanceOf(StatusRuntimeException.class);
        assertThat(events.completions).isEmpty();
        assertThat(events.errors).singleElement()
                .satisfies(e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.CANCELLED));
        assertThat(events.chunks).hasSizeLessThan(LONG);
    }

    @Test
    void generateStream_deadlinePasses_failsWithDeadlineExceeded() {
        var events = new RecordingListener();
        var stream = client.withDeadline(unmeetableDeadline()).generateStream(greedy(deadlineRequestId(), LONG), events);

        assertThatThrownBy(() -> stream.result().get(30, TimeUnit.SECONDS))
                .cause().isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
        assertThat(events.errors).hasSize(1);
        assertThat(events.completions).isEmpty();
    }

    @Test
    void generate_deadlinePasses_throwsDeadlineExceeded() {
        assertThatThrownBy(() -> client.withDeadline(unmeetableDeadline()).generate(greedy("conf-dl-unary", LONG)))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    }

    @Test
    void model_describesServedModel() {
        var model = client.model();

        assertThat(model.getName()).isNotEmpty();
        assertThat(model.getContextLength()).isPositive();
        assertThat(model.getVocabSize()).isPositive();
    }

    protected String cancelRequestId() {
        return "conf-cancel";
    }

    protected String deadlineRequestId() {
        return "conf-deadline";
    }

    /** Records every listener call, to check ordering and the single terminal event. */
    protected static final class RecordingListener implements GenerateListener {
        final List<GenerateChunk> chunks = new CopyOnWriteArrayList<>();
        final List<GenerateResult> completions = new CopyOnWriteArrayList<>();
        final List<StatusRuntimeException> errors = new CopyOnWriteArrayList<>();

        @Override
        public void onChunk(GenerateChunk chunk) {
            chunks.add(chunk);
        }

        @Override
        public void onCompleted(GenerateResult result) {
            completions.add(result);
        }

        @Override
        public void onError(StatusRuntimeException error) {
            errors.add(error);
        }
    }
}
