package io.disagg.loadtest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkloadTest {

    @TempDir
    Path dir;

    @Test
    void profiles_drawWithinDocumentedRanges() throws Exception {
        var random = new SplittableRandom(1);
        var rag = Workload.parse("rag", 1, 1_000_000, 1_000_000);
        var reasoning = Workload.parse("reasoning", 1, 1_000_000, 1_000_000);
        for (int i = 0; i < 1000; i++) {
            WorkItem r = rag.next(random);
            assertThat(r.inputTokens()).isBetween(1024, 4096);
            assertThat(r.outputTokens()).isBetween(32, 128);
            WorkItem z = reasoning.next(random);
            assertThat(z.outputTokens()).isBetween(512, 2048);
        }
    }

    @Test
    void lengthScaleAndCaps_shrinkRanges() throws Exception {
        var chat = (Workload.Profile) Workload.parse("chat", 0.125, 1_000_000, 20);

        assertThat(chat.input()).isEqualTo(new Workload.Range(8, 64));
        assertThat(chat.output()).isEqualTo(new Workload.Range(8, 20));
    }

    @Test
    void mixed_drawsEveryProfileInRoughProportion() throws Exception {
        var mixed = Workload.parse("mixed", 1, 1_000_000, 1_000_000);
        var random = new SplittableRandom(3);
        int rag = 0;
        for (int i = 0; i < 4000; i++) {
            if (mixed.next(random).inputTokens() >= 1024) {
                rag++;
            }
        }
        assertThat(rag).isBetween(900, 1100);
    }

    @Test
    void trace_readsSortsAndOffsetsTimestamps() throws Exception {
        Path file = dir.resolve("t.jsonl");
        Files.writeString(file, """
                {"timestamp": 12.5, "input_tokens": 30, "output_tokens": 4}

                {"timestamp": 10.0, "input_tokens": 100, "output_tokens": 7}
                {"timestamp": 11.0, "input_tokens": 5000, "output_tokens": 9}
                """);

        var trace = (Workload.Trace) Workload.parse("trace:" + file, 1, 1000, 1_000_000);

        assertThat(trace.items()).containsExactly(new WorkItem(100, 7, 0), new WorkItem(1000, 9, 1),
                new WorkItem(30, 4, 2.5));
        assertThat(trace.rate()).isEqualTo(2 / 2.5);
        var random = new SplittableRandom(1);
        trace.next(random);
        trace.next(random);
        trace.next(random);
        assertThat(trace.next(random)).isNull();
    }

    @Test
    void trace_missingField_namesLine() throws Exception {
        Path file = dir.resolve("bad.jsonl");
        Files.writeString(file, "{\"timestamp\": 1, \"input_tokens\": 3}\n");

        assertThatThrownBy(() -> Workload.parse("trace:" + file, 1, 10, 10))
                .hasMessageContaining("line 1: output_tokens missing");
    }

    @Test
    void unknownProfile_failsWithChoices() {
        assertThatThrownBy(() -> Workload.parse("poetry", 1, 10, 10))
                .hasMessage("profile: poetry (expected: chat, rag, reasoning, mixed or trace:FILE)");
    }

    @Test
    void prompts_textHasOneWordPerTokenLessBos_tokenIdsExactLength() {
        var random = new SplittableRandom(5);
        assertThat(Prompts.text(11, random).split(" ")).hasSize(10);
        int[] ids = Prompts.tokenIds(64, 1000, random);
        assertThat(ids).hasSize(64);
        assertThat(java.util.Arrays.stream(ids).allMatch(id -> id >= 256 && id < 1000)).isTrue();
    }
}
