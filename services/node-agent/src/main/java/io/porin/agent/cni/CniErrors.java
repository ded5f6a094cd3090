package io.porin.agent.cni;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.porin.agent.bpf.BpfException;
import io.porin.agent.endpoint.EndpointsExhaustedException;
import io.porin.agent.net.NetException;
import io.porin.core.ipam.PodIpAllocator;
import org.jboss.logging.Logger;

/** What a failed call tells the runtime: each failure's CNI error code and message. */
final class CniErrors {
  private static final Logger LOG = Logger.getLogger(CniErrors.class);

  private CniErrors() {}

  static CniException of(RuntimeException ex, String command) {
    if (ex instanceof CniException c) {
      return c;
    }
    if (ex instanceof StatusRuntimeException s) {
      Status.Code code = s.getStatus().getCode();
      if (code == Status.Code.RESOURCE_EXHAUSTED) {
        return new CniException(CniException.ADDRESSES_EXHAUSTED, s.getMessage(), command);
      }
      return new CniException(
          CniException.TRY_AGAIN_LATER, "control plane unavailable: " + s.getMessage(), command);
    }
    if (ex instanceof PodIpAllocator.ExhaustedException
        || ex instanceof EndpointsExhaustedException) {
      return new CniException(CniException.ADDRESSES_EXHAUSTED, ex.getMessage(), command);
    }
    if (ex instanceof NetException) {
      return new CniException(CniException.WIRING_FAILED, ex.getMessage(), command);
    }
    if (ex instanceof BpfException) {
      return new CniException(CniException.DATAPATH_FAILED, ex.getMessage(), command);
    }
    LOG.errorf(ex, "%s failed", command);
    return new CniException(CniException.INTERNAL, String.valueOf(ex.getMessage()), command);
  }
}
