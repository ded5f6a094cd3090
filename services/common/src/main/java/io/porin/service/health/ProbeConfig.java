package io.porin.service.health;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * The probe port ({@code porin.probe.*}): the kubelet's liveness and readiness probes carry no
 * client certificate, so they cannot reach the service's own port (mutual TLS). This port answers
 * {@code /q/health/live}, {@code /q/health/ready} and {@code /q/health/started} in plain HTTP and
 * nothing else: no gRPC, no metrics, no data beyond the checks' up or down.
 */
@ConfigMapping(prefix = "porin.probe")
public interface ProbeConfig {
  /** The port; 0 (the default) opens none (the lab checks health over mutual TLS). */
  @WithDefault("0")
  int port();

  /** The address to listen on: the pod's (0.0.0.0), or 127.0.0.1 on a host-network pod. */
  @WithDefault("127.0.0.1")
  String host();
}
