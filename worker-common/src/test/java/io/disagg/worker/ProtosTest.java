package io.disagg.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.proto.v1.GeneratedToken;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ProtosTest {

  @Test
  void sampling_withoutSeed_drawsOneFromTheGenerator_andZeroTopPMeansOne() {
    var proto = io.disagg.proto.v1.SamplingParams.newBuilder().setTemperature(0.7f).setTopK(5).build();

    SamplingParams params = Protos.sampling(proto, true, 2, new SplittableRandom(42));

    assertThat(params.seed()).isEqualTo(new SplittableRandom(42).nextLong());
    assertThat(params.topP()).isEqualTo(1f);
    assertThat(params.topK()).isEqualTo(5);
  }

  @Test
  void sampling_withSeed_usesIt() {
    var proto = io.disagg.proto.v1.SamplingParams.newBuilder().setHasSeed(true).setSeed(7).build();

    assertThat(Protos.sampling(proto, false, 0, new SplittableRandom(1)).seed()).isEqualTo(7);
  }

  @Test
  void sampling_invalid_isInvalidArgumentNamingTheField() {
    var proto = io.disagg.proto.v1.SamplingParams.newBuilder().setTemperature(-1f).build();

    assertThatThrownBy(() -> Protos.sampling(proto, false, 0, new SplittableRandom(1)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).startsWith("sampling: temperature: -1.0");
        });
  }

  @Test
  void sampledToken_readsIdLogprobAndAlternatives() {
    GeneratedToken wire = GeneratedToken.newBuilder().setTokenId(9).setLogprob(-0.25f)
        .addTop(io.disagg.proto.v1.TokenLogprob.newBuilder().setTokenId(3).setLogprob(-1.5f))
        .build();

    SampledToken token = Protos.sampledToken(wire);

    assertThat(token.tokenId()).isEqualTo(9);
    assertThat(token.logprob()).isEqualTo(-0.25f);
    assertThat(token.top()).singleElement().satisfies(t -> {
      assertThat(t.tokenId()).isEqualTo(3);
      assertThat(t.logprob()).isEqualTo(-1.5f);
    });
  }
}
