package io.porin.service.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** Assertions on gRPC answers. */
public final class GrpcAssertions {
  private GrpcAssertions() {}

  /** The call fails with this code and a description containing the text. */
  public static void assertStatus(Runnable call, Status.Code code, String description) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(code);
              assertThat(e.getStatus().getDescription()).contains(description);
            });
  }
}
