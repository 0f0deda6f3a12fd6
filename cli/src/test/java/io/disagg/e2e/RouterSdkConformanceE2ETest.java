package io.disagg.e2e;

import io.disagg.client.DisaggClientConformanceTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;

/** The gRPC client SDK's conformance suite against the real router in front of real worker processes. */
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
}
