package io.porin.cli.cluster;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.porin.api.agent.v1.AgentGrpc;
import io.porin.api.agent.v1.AgentStatus;
import io.porin.api.agent.v1.Endpoint;
import io.porin.api.agent.v1.ListEndpointsRequest;
import io.porin.api.agent.v1.StatusRequest;
import io.porin.api.identity.v1.IdentitiesGrpc;
import io.porin.api.ipam.v1.IpamGrpc;
import io.porin.api.policy.v1.PoliciesGrpc;
import io.porin.api.resource.v1.ListRequest;
import io.porin.api.resource.v1.ResourcesGrpc;
import io.porin.api.resource.v1.StoredResource;
import io.porin.cli.context.ContextTls;
import io.porin.cli.context.Contexts;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A whole installation as the context names it: the control-plane services and every node's agent.
 * Calls that fail are reported as values ({@link Answer}), not thrown, so that a status view shows
 * everything it could reach and says what it could not.
 */
public final class Cluster implements AutoCloseable {
  private static final long DEADLINE_MS = 10_000;

  private final Contexts.Context context;
  private final Map<String, ManagedChannel> channels =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, java.util.concurrent.CompletableFuture<Answer<String>>> readiness =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final HttpClient http;
  private final Map<String, java.security.cert.X509Certificate> certificates =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** The certificate each server showed at a readiness check, by host:port. */
  public Map<String, java.security.cert.X509Certificate> certificates() {
    return Map.copyOf(certificates);
  }

  /** A value, or why there is none. */
  public record Answer<T>(T value, String error) {
    public boolean ok() {
      return error == null;
    }
  }

  /**
   * @throws IllegalArgumentException when the context's certificate cannot be used (the message
   *     says why)
   */
  public Cluster(Contexts.Context context) {
    this.context = context;
    ContextTls.of(context); // fail here, once, rather than at every call
    this.http = ContextTls.http(context);
  }

  public Contexts.Context context() {
    return context;
  }

  private ManagedChannel channel(String target, String service) {
    return channels.computeIfAbsent(
        service + "@" + target, k -> ContextTls.channel(context, target, service));
  }

  /** Makes one call; a failed one becomes an {@link Answer} saying what failed and why. */
  public static <T> Answer<T> call(String what, Supplier<T> call) {
    try {
      return new Answer<>(call.get(), null);
    } catch (StatusRuntimeException e) {
      String why =
          switch (e.getStatus().getCode()) {
            case UNAVAILABLE -> "unreachable";
            case DEADLINE_EXCEEDED -> "no answer in time";
            default -> e.getStatus().getCode().name();
          };
      return new Answer<>(
          null,
          what
              + ": "
              + why
              + (e.getStatus().getDescription() != null
                  ? " (" + e.getStatus().getDescription() + ")"
                  : ""));
    }
  }

  public IdentitiesGrpc.IdentitiesBlockingStub identity() {
    return IdentitiesGrpc.newBlockingStub(channel(context.identity(), "identity"))
        .withDeadlineAfter(DEADLINE_MS, TimeUnit.MILLISECONDS);
  }

  public IpamGrpc.IpamBlockingStub ipam() {
    return IpamGrpc.newBlockingStub(channel(context.ipam(), "ipam"))
        .withDeadlineAfter(DEADLINE_MS, TimeUnit.MILLISECONDS);
  }

  public PoliciesGrpc.PoliciesBlockingStub policy() {
    return PoliciesGrpc.newBlockingStub(channel(context.policy(), "policy"))
        .withDeadlineAfter(DEADLINE_MS, TimeUnit.MILLISECONDS);
  }

  public ResourcesGrpc.ResourcesBlockingStub resources() {
    return ResourcesGrpc.newBlockingStub(channel(context.policy(), "policy"))
        .withDeadlineAfter(DEADLINE_MS, TimeUnit.MILLISECONDS);
  }

  public io.porin.api.hubble.observer.ObserverGrpc.ObserverBlockingStub relay() {
    return io.porin.api.hubble.observer.ObserverGrpc.newBlockingStub(
            channel(context.relay(), "relay"))
        .withDeadlineAfter(DEADLINE_MS, TimeUnit.MILLISECONDS);
  }

  public AgentGrpc.AgentBlockingStub agent(String address) {
    return AgentGrpc.newBlockingStub(channel(address, "agent"))
        .withDeadlineAfter(DEADLINE_MS, TimeUnit.MILLISECONDS);
  }

  /** Stored resources of a kind ({@code pods}, {@code services}, ...), in one or all namespaces. */
  public Answer<List<StoredResource>> stored(String kind, String namespace) {
    return call(
        "policy service " + context.policy(),
        () ->
            resources()
                .list(
                    ListRequest.newBuilder()
                        .setKind(kind)
                        .setNamespace(namespace == null ? "" : namespace)
                        .build())
                .getResourcesList());
  }

  /** Each node's agent status, by node (as the context lists the agents). */
  public Map<String, Answer<AgentStatus>> agentStatuses() {
    Map<String, java.util.concurrent.CompletableFuture<Answer<AgentStatus>>> asked =
        new LinkedHashMap<>();
    context
        .agents()
        .forEach(
            (node, address) ->
                asked.put(
                    node,
                    async(
                        () ->
                            call(
                                "agent " + address,
                                () -> agent(address).status(StatusRequest.getDefaultInstance())))));
    Map<String, Answer<AgentStatus>> m = new LinkedHashMap<>();
    asked.forEach((node, f) -> m.put(node, f.join()));
    return m;
  }

  /** A node's endpoints, with the node they are on. */
  public record NodeEndpoint(String node, Endpoint endpoint) {}

  /** Every endpoint of every reachable agent; the unreachable ones in {@code errors}. */
  public List<NodeEndpoint> endpoints(List<String> errors) {
    List<NodeEndpoint> all = new ArrayList<>();
    context
        .agents()
        .forEach(
            (node, address) -> {
              var a =
                  call(
                      "agent " + address,
                      () ->
                          agent(address).listEndpoints(ListEndpointsRequest.getDefaultInstance()));
              if (a.ok()) {
                a.value()
                    .getEndpointsList()
                    .forEach(e -> all.add(new NodeEndpoint(a.value().getNode(), e)));
              } else {
                errors.add(a.error());
              }
            });
    return all;
  }

  /**
   * Runs {@code call} on a thread of its own (started by this thread, so in its network namespace:
   * see {@code Netns}); a view asks its questions at once rather than one after another.
   */
  public static <T> java.util.concurrent.CompletableFuture<T> async(Supplier<T> call) {
    var f = new java.util.concurrent.CompletableFuture<T>();
    Thread.ofPlatform()
        .daemon()
        .start(
            () -> {
              try {
                f.complete(call.get());
              } catch (RuntimeException e) {
                f.completeExceptionally(e);
              }
            });
    return f;
  }

  /** Starts the readiness checks of these services, to be read with {@link #readiness}. */
  public void checkReadiness(java.util.Collection<String> hostPorts) {
    hostPorts.forEach(h -> readiness.computeIfAbsent(h, k -> async(() -> ready(k))));
  }

  /** A service's readiness ({@code /q/health/ready} on its port): the JSON, or why not. */
  public Answer<String> readiness(String hostPort) {
    return readiness.computeIfAbsent(hostPort, k -> async(() -> ready(k))).join();
  }

  private Answer<String> ready(String hostPort) {
    return get(hostPort, "/q/health/ready", Duration.ofSeconds(3), "not ready (HTTP ");
  }

  /**
   * GET {@code path} on a service's port: the body when it answers 200; else why not ({@code notOk}
   * and the status code, with the body, or unreachable). Records the certificate it showed.
   */
  private Answer<String> get(String hostPort, String path, Duration timeout, String notOk) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(
                      URI.create(ContextTls.scheme(context) + "://" + hostPort + path))
                  .timeout(timeout)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      r.sslSession()
          .ifPresent(
              session -> {
                try {
                  if (session.getPeerCertificates()[0]
                      instanceof java.security.cert.X509Certificate x) {
                    certificates.put(hostPort, x);
                  }
                } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                  // no certificate to show
                }
              });
      return r.statusCode() == 200
          ? new Answer<>(r.body(), null)
          : new Answer<>(r.body(), notOk + r.statusCode() + ")");
    } catch (java.io.IOException e) {
      return new Answer<>(null, "unreachable (" + e.getClass().getSimpleName() + ")");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Answer<>(null, "interrupted");
    }
  }

  /** A service's Prometheus metrics ({@code /q/metrics} on its port), or why there are none. */
  public Answer<String> metrics(String hostPort) {
    return get(hostPort, "/q/metrics", Duration.ofSeconds(10), "no metrics (HTTP ");
  }

  @Override
  public void close() {
    for (ManagedChannel c : channels.values()) {
      c.shutdownNow();
    }
    if (!ContextTls.reusing()) {
      http.close();
    }
  }
}
