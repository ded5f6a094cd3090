package io.porin.identity.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.porin.identity.allocate.InvalidRequestException;
import io.porin.identity.allocate.RangeExhaustedException;
import io.porin.kvstore.KvStoreException;

/** Turns the service's failures into gRPC statuses with messages that name what is wrong. */
final class StatusMapping {
  private StatusMapping() {}

  static StatusRuntimeException toStatus(Throwable t) {
    return switch (t) {
      case StatusRuntimeException s -> s;
      case InvalidRequestException e ->
          Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
      case IllegalArgumentException e ->
          Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
      case RangeExhaustedException e ->
          Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException();
      case KvStoreException e when e.kind() == KvStoreException.Kind.UNAVAILABLE ->
          Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException();
      default ->
          Status.INTERNAL
              .withDescription(String.valueOf(t.getMessage()))
              .withCause(t)
              .asRuntimeException();
    };
  }
}
