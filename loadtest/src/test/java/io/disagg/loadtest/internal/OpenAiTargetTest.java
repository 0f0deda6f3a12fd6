package io.disagg.loadtest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OpenAiTargetTest {

    /** Records what the SSE parser reports. */
    private static final class Recorder implements Target.Observer {
        final List<String> events = new ArrayList<>();

        @Override
        public void onTokens(int count) {
            events.add("tokens " + count);
        }

        @Override
        public void onDone(int promptTokens, int outputTokens, int cachedPromptTokens) {
            events.add("done " + promptTokens + "/" + outputTokens + " cached " + cachedPromptTokens);
        }

        @Override
        public void onError(String type) {
            events.add("error " + type);
        }
    }

    private static List<String> parse(String usage) {
        var recorder = new Recorder();
        var sse = new OpenAiTarget.SseSubscriber(recorder);
        sse.status = 200;
        sse.onNext("data: {\"choices\":[{\"index\":0,\"text\":\"Once\"}]}");
        sse.onNext("data: {\"choices\":[],\"usage\":" + usage + "}");
        sse.onNext("data: [DONE]");
        return recorder.events;
    }

    @Test
    void usage_cachedTokensFromPromptTokensDetails() {
        assertThat(parse("{\"prompt_tokens\":80,\"completion_tokens\":1,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":64}}"))
                .containsExactly("tokens 1", "done 80/1 cached 64");
    }

    @Test
    void usage_withoutPromptTokensDetails_countsNothingCached() {
        assertThat(parse("{\"prompt_tokens\":80,\"completion_tokens\":1}"))
                .containsExactly("tokens 1", "done 80/1 cached 0");
    }
}
