package io.disagg.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.client.DisaggClientConformanceTest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The gRPC client SDK's conformance suite against the real router (with an API key) in front of real workers. */
@ExtendWith(SharedCluster.class)
class RouterSdkConformanceE2ETest extends DisaggClientConformanceTest {
  private static LocalCluster cluster;

  @BeforeAll
  static void attach(LocalCluster shared) {
    cluster = shared;
  }

  @Override
  protected String target() {
    return cluster.routerGrpc();
  }

  @Override
  protected String apiKey() {
    return cluster.apiKey();
  }

  @Test
  void generate_withoutApiKey_isUnauthenticated() {
    assertThatThrownBy(() -> cluster.anonymousRouterStub().generate(greedy("no-key", SHORT)))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
  }
}
