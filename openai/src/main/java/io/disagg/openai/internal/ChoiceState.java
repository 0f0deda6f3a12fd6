package io.disagg.openai.internal;

import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.ServedBy;
import io.disagg.proto.v1.Timing;
import io.disagg.proto.v1.Usage;
import java.util.ArrayList;
import java.util.List;

/** What one choice (one generation) has produced so far. Confined to the channel's event loop. */
final class ChoiceState {
  final int index;
  final int promptIndex;
  final String requestId;
  final StringBuilder text = new StringBuilder();
  final List<TokenEntry> tokens = new ArrayList<>();
  int generatedTokens;
  boolean started;
  boolean done;
  FinishReason finishReason = FinishReason.FINISH_REASON_UNSPECIFIED;
  Usage usage;
  Timing timing;
  ServedBy servedBy;

  ChoiceState(int index, int promptIndex, String requestId) {
    this.index = index;
    this.promptIndex = promptIndex;
    this.requestId = requestId;
  }

  /** One generated token with its log-probability and alternatives, already resolved to text. */
  record TokenEntry(String text, float logprob, List<Alternative> top, int textOffset) {}

  record Alternative(String text, float logprob) {}
}
