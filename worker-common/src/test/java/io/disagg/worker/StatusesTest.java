package io.disagg.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.spi.BackendException;
import io.grpc.Status;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class StatusesTest {

  @Test
  void backendCodes_mapToGrpcCodes_keepingTheMessage() {
    assertThat(Statuses.of(new BackendException(BackendException.Code.CONTEXT_OVERFLOW, "too long")))
        .satisfies(s -> {
          assertThat(s.getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
          assertThat(s.getDescription()).isEqualTo("too long");
        });
    assertThat(Statuses.of(new BackendException(BackendException.Code.KV_MISMATCH, "x")).getCode())
        .isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(Statuses.of(new BackendException(BackendException.Code.MODEL_INVALID, "x")).getCode())
        .isEqualTo(Status.Code.INTERNAL);
  }

  @Test
  void grpcExceptions_keepTheirStatus() {
    assertThat(Statuses.of(Status.ABORTED.withDescription("a").asRuntimeException()).getCode())
        .isEqualTo(Status.Code.ABORTED);
    assertThat(Statuses.of(Status.NOT_FOUND.asException()).getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }

  @Test
  void completionException_isUnwrapped_andUnknownFailuresAreInternal() {
    var wrapped = new CompletionException(new BackendException(BackendException.Code.UNAVAILABLE, "gone"));

    assertThat(Statuses.of(wrapped).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(Statuses.of(new IllegalStateException("boom")).getCode()).isEqualTo(Status.Code.INTERNAL);
  }

  @Test
  void workerMapping_isAskedAfterBackendAndBeforeFallback_alsoForWrappedCauses() {
    var mapped = Statuses.of(new CompletionException(new UnsupportedOperationException("kv")),
        t -> t instanceof UnsupportedOperationException ? Status.PERMISSION_DENIED : null);

    assertThat(mapped.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(Statuses.of(new BackendException(BackendException.Code.INTERNAL, "x"), t -> Status.CANCELLED)
        .getCode()).isEqualTo(Status.Code.INTERNAL);
  }
}
