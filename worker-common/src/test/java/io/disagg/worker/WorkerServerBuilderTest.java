package io.disagg.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.backend.spi.Backend;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.reflect.Proxy;
import org.junit.jupiter.api.Test;

class WorkerServerBuilderTest {

  /** A backend nobody calls: the builder only holds it. */
  private static final Backend UNUSED = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(),
      new Class<?>[] {Backend.class}, (proxy, method, args) -> {
        throw new UnsupportedOperationException(method.getName());
      });

  private static final class TestBuilder extends WorkerServerBuilder<TestBuilder> {
    TestBuilder() {
      super(UNUSED, "test", "test peers", 7);
    }

    WorkerSettings build() {
      return settings();
    }
  }

  @Test
  void settings_carryDefaultsAndWhatWasSet() {
    WorkerSettings s = new TestBuilder().kvSecret("0123456789abcdef").host("0.0.0.0").grpcPort(9000)
        .queueCapacity(3).build();

    assertThat(s.host()).isEqualTo("0.0.0.0");
    assertThat(s.grpcPort()).isEqualTo(9000);
    assertThat(s.maxBatchSize()).isEqualTo(7);
    assertThat(s.maxBatchTokens()).isEqualTo(2048);
    assertThat(s.queueCapacity()).isEqualTo(3);
    assertThat(s.workerId()).matches("test-[0-9a-f]{8}");
    assertThat(s.kvSecret()).asString().isEqualTo("0123456789abcdef");
    assertThat(s.metricsPort()).isEqualTo(-1);
  }

  @Test
  void metricsPort_outOfRange_failsFast() {
    assertThatThrownBy(() -> new TestBuilder().metricsPort(-2)).hasMessage("metricsPort: -2 (expected: -1..65535)");
    assertThatThrownBy(() -> new TestBuilder().metricsPort(65536))
        .hasMessage("metricsPort: 65536 (expected: -1..65535)");
  }

  @Test
  void metricsPort_withARegistryPrometheusCannotScrape_failsAtBuild() {
    assertThatThrownBy(() -> new TestBuilder().kvSecret("0123456789abcdef").metricsPort(0)
        .meterRegistry(new SimpleMeterRegistry()).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("meterRegistry: SimpleMeterRegistry (expected: a PrometheusMeterRegistry when metricsPort is set)");
    assertThat(new TestBuilder().kvSecret("0123456789abcdef").metricsPort(0)
        .meterRegistry(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).build().metricsPort()).isZero();
  }

  @Test
  void setters_failFastWithTheSettingAndWhatWasExpected() {
    assertThatThrownBy(() -> new TestBuilder().maxBatchTokens(0)).hasMessage("maxBatchTokens: 0 (expected: > 0)");
    assertThatThrownBy(() -> new TestBuilder().grpcPort(70000)).hasMessage("grpcPort: 70000 (expected: 0..65535)");
    assertThatThrownBy(() -> new TestBuilder().host(" ")).hasMessage("host: blank (expected: a host name or address)");
    assertThatThrownBy(() -> new TestBuilder().kvSecret("short")).hasMessage("kvSecret: 5 bytes (expected: >= 16)");
  }

  @Test
  void missingSecret_failsAtBuildNamingThePeers() {
    assertThatThrownBy(() -> new TestBuilder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("kvSecret: not set (expected: the secret shared with test peers)");
  }
}
