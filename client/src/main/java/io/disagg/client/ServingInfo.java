package io.disagg.client;

import io.disagg.proto.v1.ServeMode;
import io.disagg.proto.v1.ServedBy;

/**
 * How the router served a request.
 *
 * @param mode disaggregated or colocated
 * @param reason the router's short reason code, e.g. {@code "prompt_below_threshold"} or {@code "forced"}
 * @param prefillWorker the prefill worker's id; empty when colocated
 * @param decodeWorker the decode worker's id
 */
public record ServingInfo(ServeMode mode, String reason, String prefillWorker, String decodeWorker) {

    public static final ServingInfo UNKNOWN = new ServingInfo(ServeMode.SERVE_MODE_UNSPECIFIED, "", "", "");

    public static ServingInfo fromProto(ServedBy s) {
        return new ServingInfo(s.getMode(), s.getReason(), s.getPrefillWorker(), s.getDecodeWorker());
    }
}
