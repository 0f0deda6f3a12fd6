package io.disagg.decode.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.decode.testing.SimulatedBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

class TextStreamerTest {
  private final SimulatedBackend backend = SimulatedBackend.create();

  @Test
  void append_textThatMayStartAStopString_isHeldUntilItCannot() {
    TextStreamer s = new TextStreamer(backend.tokenizer(), -1, List.of(" w5 w7"));

    assertThat(s.append(3)).isEqualTo(" w3");
    assertThat(s.append(5)).isEmpty(); // " w5" could begin " w5 w7"
    assertThat(s.append(6)).isEqualTo(" w5 w6");
    assertThat(s.stopped()).isFalse();
  }

  @Test
  void append_completedStopString_isCutWithEverythingAfterIt() {
    TextStreamer s = new TextStreamer(backend.tokenizer(), -1, List.of(" w5 w7"));

    assertThat(s.append(3)).isEqualTo(" w3");
    assertThat(s.append(5)).isEmpty();
    assertThat(s.append(7)).isEmpty();
    assertThat(s.stopped()).isTrue();
    assertThat(s.finish()).isEmpty();
  }

  @Test
  void append_stopStringInsideOneToken_returnsTheTextBeforeIt() {
    TextStreamer s = new TextStreamer(backend.tokenizer(), -1, List.of("1"));

    assertThat(s.append(4)).isEqualTo(" w4");
    assertThat(s.append(41)).isEqualTo(" w4");
    assertThat(s.stopped()).isTrue();
  }

  @Test
  void finish_withoutStop_releasesHeldText() {
    TextStreamer s = new TextStreamer(backend.tokenizer(), -1, List.of(" w9 w9"));

    assertThat(s.append(9)).isEmpty();
    assertThat(s.finish()).isEqualTo(" w9");
  }
}
