package io.disagg.router;

import io.disagg.proto.v1.ServeMode;
import java.util.Objects;

/**
 * A serve-mode decision and the short reason code reported to the client in {@code ServedBy.reason}.
 *
 * @param mode disaggregated or colocated, never unspecified
 * @param reason a short snake_case code, see {@link ServeReasons}
 */
public record ServeDecision(ServeMode mode, String reason) {

  public ServeDecision {
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(reason, "reason");
    if (mode != ServeMode.SERVE_MODE_DISAGGREGATED && mode != ServeMode.SERVE_MODE_COLOCATED) {
      throw new IllegalArgumentException("mode: " + mode + " (expected: DISAGGREGATED or COLOCATED)");
    }
    if (reason.isBlank()) {
      throw new IllegalArgumentException("reason: blank (expected: a reason code)");
    }
  }

  public static ServeDecision disaggregated(String reason) {
    return new ServeDecision(ServeMode.SERVE_MODE_DISAGGREGATED, reason);
  }

  public static ServeDecision colocated(String reason) {
    return new ServeDecision(ServeMode.SERVE_MODE_COLOCATED, reason);
  }
}
