package io.porin.service;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.porin.kvstore.KvStoreException;
import io.smallrye.mutiny.Uni;
import java.util.function.Supplier;

/** Turns a service's answers and failures into gRPC, the same way in every service. */
public final class GrpcCalls {
  private GrpcCalls() {}

  /**
   * The status for a failure: INVALID_ARGUMENT for bad input (the message names the field),
   * RESOURCE_EXHAUSTED for a full range or pool, UNAVAILABLE when etcd does not answer, INTERNAL
   * otherwise.
   */
  public static StatusRuntimeException toStatus(Throwable t) {
    return switch (t) {
      case StatusRuntimeException s -> s;
      case IllegalArgumentException e -> status(Status.INVALID_ARGUMENT, e);
      case ExhaustedException e -> status(Status.RESOURCE_EXHAUSTED, e);
      case KvStoreException e when e.kind() == KvStoreException.Kind.UNAVAILABLE ->
          status(Status.UNAVAILABLE, e);
      default ->
          Status.INTERNAL
              .withDescription(String.valueOf(t.getMessage()))
              .withCause(t)
              .asRuntimeException();
    };
  }

  /** NOT_FOUND with a description that names the field and what is missing. */
  public static StatusRuntimeException notFound(String description) {
    return Status.NOT_FOUND.withDescription(description).asRuntimeException();
  }

  /** Runs a blocking body and answers with its result or its failure's status. */
  public static <T> Uni<T> call(Supplier<T> body) {
    try {
      return Uni.createFrom().item(body.get());
    } catch (RuntimeException e) {
      return Uni.createFrom().failure(toStatus(e));
    }
  }

  private static StatusRuntimeException status(Status s, Throwable e) {
    return s.withDescription(e.getMessage()).asRuntimeException();
  }
}
