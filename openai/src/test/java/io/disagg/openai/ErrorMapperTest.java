package io.disagg.openai;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.openai.internal.ApiError;
import io.disagg.openai.internal.ErrorMapper;
import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The status table documented in README.md, row by row. */
class ErrorMapperTest {
  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "INVALID_ARGUMENT, 400, invalid_request_error, 0",
      "FAILED_PRECONDITION, 400, invalid_request_error, 0",
      "OUT_OF_RANGE, 400, invalid_request_error, 0",
      "NOT_FOUND, 404, invalid_request_error, 0",
      "UNAUTHENTICATED, 401, invalid_request_error, 0",
      "PERMISSION_DENIED, 403, invalid_request_error, 0",
      "RESOURCE_EXHAUSTED, 429, rate_limit_error, 1",
      "UNAVAILABLE, 503, server_error, 1",
      "CANCELLED, 503, server_error, 1",
      "ABORTED, 503, server_error, 1",
      "DEADLINE_EXCEEDED, 504, server_error, 0",
      "UNIMPLEMENTED, 501, server_error, 0",
      "INTERNAL, 500, server_error, 0",
      "UNKNOWN, 500, server_error, 0",
      "DATA_LOSS, 500, server_error, 0",
  })
  void fromStatus_mapsEveryGrpcCode(Status.Code code, int http, String type, int retryAfter) {
    ApiError error = ErrorMapper.fromStatus(Status.fromCode(code).withDescription("why"));
    assertThat(error.status().code()).isEqualTo(http);
    assertThat(error.type()).isEqualTo(type);
    assertThat(error.retryAfterSeconds()).isEqualTo(retryAfter);
    assertThat(error.message()).isEqualTo("why");
  }

  @Test
  void fromThrowable_unexpectedException_hidesDetailsBehind500() {
    ApiError error = ErrorMapper.fromThrowable(new NullPointerException("secret internals"));
    assertThat(error.status().code()).isEqualTo(500);
    assertThat(error.message()).doesNotContain("secret");
  }
}
