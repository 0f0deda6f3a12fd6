package io.disagg.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.openai.testing.OpenAiSdkConformanceTest;
import io.disagg.openai.testing.RawHttp;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 5: the OpenAI SDK conformance suite against the real router's HTTP front end (backed by the real workers),
 * and a client that disconnects mid-stream giving the decode worker's KV blocks back.
 */
@ExtendWith(SharedCluster.class)
class OpenAiSdkConformanceE2ETest extends OpenAiSdkConformanceTest {
  private static LocalCluster cluster;
  private static String http;
  private static String model;

  @BeforeAll
  static void attach(LocalCluster shared) {
    cluster = shared;
    http = shared.routerHttp();
    model = shared.client().model().getName();
  }

  @Override
  protected String baseUrl() {
    return "http://" + http + "/v1";
  }

  @Override
  protected String apiKey() {
    return cluster.apiKey();
  }

  @Override
  protected boolean keysRequired() {
    return true;
  }

  @Override
  protected String model() {
    return model;
  }

  @Test
  void clientDisconnectsMidStream_decodeWorkersFreeKvBlocksReturn() throws Exception {
    int before = cluster.decodeHealth(SharedCluster.DECODE).getFreeKvBlocks();
    int port = Integer.parseInt(http.substring(http.lastIndexOf(':') + 1));
    String host = http.substring(0, http.lastIndexOf(':'));
    int during;
    try (RawHttp raw = new RawHttp(host, port)) {
      raw.writeRequest("POST", "/v1/completions", Map.of("Content-Type", "application/json",
          "Authorization", "Bearer " + cluster.apiKey()),
          "{\"model\":\"" + model + "\",\"prompt\":\"" + Prompts.LONG + "\",\"max_tokens\":400,"
              + "\"temperature\":0,\"stream\":true}");
      assertThat(raw.readHead().status()).isEqualTo(200);
      raw.readUntil("\"text\":\"");
      during = cluster.decodeHealth(SharedCluster.DECODE).getFreeKvBlocks();
    }

    assertThat(during).as("free blocks while the completion streams").isLessThan(before);
    boolean returned = LocalCluster.await(Duration.ofSeconds(10),
        () -> cluster.decodeHealth(SharedCluster.DECODE).getFreeKvBlocks() == before);
    assertThat(returned).as("free_kv_blocks back to %d after the disconnect, now %d", before,
        cluster.decodeHealth(SharedCluster.DECODE).getFreeKvBlocks()).isTrue();
  }
}
