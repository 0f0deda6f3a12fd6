package io.disagg.client.internal;

import io.disagg.client.ClientTiming;
import io.disagg.client.GenerateResult;
import io.disagg.client.ServingInfo;
import io.disagg.client.TimingBreakdown;
import io.disagg.client.TokenUsage;
import io.disagg.proto.v1.GenerateResponse;
import java.time.Duration;

final class Results {

    private Results() {
    }

    static GenerateResult fromResponse(GenerateResponse r, long startNanos, long endNanos, int attempts) {
        Duration total = Duration.ofNanos(endNanos - startNanos);
        return new GenerateResult(r.getRequestId(), r.getText(), r.getTokenIdsList(), r.getFinishReason(),
                r.hasUsage() ? TokenUsage.fromProto(r.getUsage()) : TokenUsage.NONE,
                r.hasTiming() ? TimingBreakdown.fromProto(r.getTiming()) : TimingBreakdown.NONE,
                r.hasServedBy() ? ServingInfo.fromProto(r.getServedBy()) : ServingInfo.UNKNOWN,
                new ClientTiming(total, total, attempts));
    }
}
