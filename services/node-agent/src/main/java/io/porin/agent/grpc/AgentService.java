package io.porin.agent.grpc;

import io.grpc.Status;
import io.porin.agent.Agent;
import io.porin.agent.bpf.LinuxDatapath;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.bpf.maps.CounterMap;
import io.porin.agent.datapath.EndpointConfig;
import io.porin.agent.datapath.PolicyKey;
import io.porin.agent.datapath.PolicyValue;
import io.porin.agent.endpoint.Endpoint;
import io.porin.agent.endpoint.LiveEndpoint;
import io.porin.agent.policy.Cookies;
import io.porin.api.agent.v1.AgentGrpc;
import io.porin.api.agent.v1.AgentStatus;
import io.porin.api.agent.v1.Counter;
import io.porin.api.agent.v1.GetPolicyMapRequest;
import io.porin.api.agent.v1.ListEndpointsRequest;
import io.porin.api.agent.v1.ListEndpointsResponse;
import io.porin.api.agent.v1.PolicyMap;
import io.porin.api.agent.v1.PolicyMapEntry;
import io.porin.api.agent.v1.StatusRequest;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import java.util.Comparator;
import java.util.Map;

/** The agent's gRPC API (porin.agent.v1.Agent). */
@GrpcService
@Blocking
public class AgentService extends AgentGrpc.AgentImplBase {
  private final Agent agent;

  public AgentService(Agent agent) {
    this.agent = agent;
  }

  private void requireStarted() {
    if (!agent.started()) {
      throw Status.UNAVAILABLE
          .withDescription("agent on " + agent.node() + " not up: " + agent.problem().orElse(""))
          .asRuntimeException();
    }
  }

  @Override
  public void listEndpoints(
      ListEndpointsRequest request, io.grpc.stub.StreamObserver<ListEndpointsResponse> response) {
    requireStarted();
    ListEndpointsResponse.Builder b = ListEndpointsResponse.newBuilder().setNode(agent.node());
    for (LiveEndpoint l : agent.endpoints().list()) {
      Endpoint e = l.endpoint();
      b.addEndpoints(
          io.porin.api.agent.v1.Endpoint.newBuilder()
              .setId(e.id())
              .setIdentity(e.identity())
              .addAllLabels(e.labels())
              .setIpv4(e.ipv4())
              .setIpv6(e.ipv6() == null ? "" : e.ipv6())
              .setState(l.state().name())
              .setStateDetail(l.state().detail())
              .setIngressEnforced(l.ingressEnforced())
              .setEgressEnforced(l.egressEnforced())
              .setNamespace(e.namespace())
              .setPod(e.pod())
              .setContainerId(e.containerId())
              .setInterface(e.hostInterface())
              .setIfindex(e.ifindex())
              .setNetns(e.netns())
              .setPolicyRevision(l.policyRevision())
              .setPolicyEntries(l.entries()));
    }
    response.onNext(b.build());
    response.onCompleted();
  }

  @Override
  public void getPolicyMap(
      GetPolicyMapRequest request, io.grpc.stub.StreamObserver<PolicyMap> response) {
    requireStarted();
    LiveEndpoint live =
        switch (request.getEndpointCase()) {
          case ID ->
              agent
                  .endpoints()
                  .byId(request.getId())
                  .orElseThrow(
                      () ->
                          Status.NOT_FOUND
                              .withDescription(
                                  "no endpoint " + request.getId() + " on " + agent.node())
                              .asRuntimeException());
          case POD -> {
            String[] p = request.getPod().split("/", 2);
            if (p.length != 2 || p[0].isEmpty() || p[1].isEmpty()) {
              throw Status.INVALID_ARGUMENT
                  .withDescription("pod: \"" + request.getPod() + "\" is not namespace/name")
                  .asRuntimeException();
            }
            yield agent
                .endpoints()
                .byPod(p[0], p[1])
                .orElseThrow(
                    () ->
                        Status.NOT_FOUND
                            .withDescription(
                                "no endpoint for pod " + request.getPod() + " on " + agent.node())
                            .asRuntimeException());
          }
          default ->
              throw Status.INVALID_ARGUMENT
                  .withDescription("endpoint: give an id or a pod")
                  .asRuntimeException();
        };
    Endpoint e = live.endpoint();
    LinuxDatapath dp = agent.datapath();
    EndpointConfig cfg =
        dp.endpoint(e.ifindex())
            .orElseThrow(
                () ->
                    Status.FAILED_PRECONDITION
                        .withDescription("endpoint " + e.id() + " has no datapath entry")
                        .asRuntimeException());
    Cookies cookies = agent.cookies();
    PolicyMap.Builder b =
        PolicyMap.newBuilder()
            .setEndpoint(e.id())
            .setIdentity(cfg.identity())
            .setIngressEnforced((cfg.flags() & MapLayouts.EP_ENFORCE_INGRESS) != 0)
            .setEgressEnforced((cfg.flags() & MapLayouts.EP_ENFORCE_EGRESS) != 0)
            .setIngressDefault(verdict(cfg.ingressDefault()))
            .setEgressDefault(verdict(cfg.egressDefault()))
            .setIngressDefaultRules(describe(cookies, cfg.ingressDefaultCookie()))
            .setEgressDefaultRules(describe(cookies, cfg.egressDefaultCookie()))
            .setPolicyRevision(cfg.policyRevision())
            .setCapacity(MapLayouts.POLICY_MAX);
    dp.readPolicy(e.id(), cfg.policySlot()).entrySet().stream()
        .sorted(
            Comparator.comparing((Map.Entry<PolicyKey, PolicyValue> x) -> x.getKey().direction())
                .thenComparing(x -> Integer.toUnsignedLong(x.getKey().identity()))
                .thenComparing(x -> x.getKey().protocol())
                .thenComparing(x -> x.getKey().port())
                .thenComparing(x -> x.getKey().prefixLength()))
        .forEach(
            x ->
                b.addEntries(
                    PolicyMapEntry.newBuilder()
                        .setPeer(x.getKey().identity())
                        .setDirection(
                            x.getKey().direction() == MapLayouts.DIR_INGRESS ? "ingress" : "egress")
                        .setProtocol(x.getKey().protocol())
                        .setPort(x.getKey().port())
                        .setPrefixLength(x.getKey().prefixLength())
                        .setVerdict(verdict(x.getValue().verdict()))
                        .setCookie(x.getValue().cookie())
                        .setRules(describe(cookies, x.getValue().cookie()))));
    response.onNext(b.build());
    response.onCompleted();
  }

  @Override
  public void status(StatusRequest request, io.grpc.stub.StreamObserver<AgentStatus> response) {
    AgentStatus.Builder b =
        AgentStatus.newBuilder()
            .setNode(String.valueOf(agent.node()))
            .setDatapathLoaded(agent.datapath() != null)
            .setReady(agent.started())
            .setControlPlane(agent.problem().orElse("ok"));
    if (agent.started()) {
      b.setPolicyRevision(agent.policies().revision())
          .setEndpoints(agent.endpoints().size())
          .setIpcacheEntries(agent.ipcache().size())
          .addAllIpv4Cidrs(agent.cidrs().getIpv4CidrsList())
          .addAllIpv6Cidrs(agent.cidrs().getIpv6CidrsList())
          .setEncryption(encryptStatus());
      for (CounterMap.Counter c : agent.datapath().counters()) {
        if (c.reason() == MapLayouts.COUNTER_EVENTS_LOST) {
          b.setEventsLost(b.getEventsLost() + c.packets());
          continue;
        }
        b.addCounters(
            Counter.newBuilder()
                .setReason(c.reason())
                .setDirection(c.direction() == MapLayouts.DIR_INGRESS ? "ingress" : "egress")
                .setPackets(c.packets())
                .setBytes(c.bytes()));
      }
    }
    response.onNext(b.build());
    response.onCompleted();
  }

  @Override
  public void encryptStatus(
      io.porin.api.agent.v1.EncryptStatusRequest request,
      io.grpc.stub.StreamObserver<io.porin.api.agent.v1.EncryptionStatus> response) {
    requireStarted();
    response.onNext(encryptStatus());
    response.onCompleted();
  }

  private io.porin.api.agent.v1.EncryptionStatus encryptStatus() {
    var b = io.porin.api.agent.v1.EncryptionStatus.newBuilder().setNode(agent.node());
    io.porin.agent.encrypt.WireGuardAgent wg = agent.wireGuard();
    if (wg == null) {
      return b.setEncryption("disabled").build();
    }
    var s = wg.status();
    b.setEncryption("wireguard")
        .setMode(s.mode())
        .setInterface(s.device())
        .setPort(s.port())
        .setPublicKey(s.publicKey())
        .setStrict(s.strict())
        .setExpectedPeers(s.expectedPeers());
    for (var v : s.peers()) {
      var p = v.device();
      b.addPeers(
          io.porin.api.agent.v1.WireGuardPeer.newBuilder()
              .setNode(v.node())
              .setPublicKey(p.publicKey())
              .setEndpoint(p.endpoint())
              .addAllAllowedIps(p.allowedIps())
              .setLatestHandshake(p.lastHandshakeEpochSeconds())
              .setReceivedBytes(p.receivedBytes())
              .setSentBytes(p.sentBytes()));
    }
    return b.build();
  }

  @Override
  public void rotateKey(
      io.porin.api.agent.v1.RotateKeyRequest request,
      io.grpc.stub.StreamObserver<io.porin.api.agent.v1.RotateKeyResponse> response) {
    requireStarted();
    io.porin.agent.encrypt.WireGuardAgent wg = agent.wireGuard();
    if (wg == null) {
      throw Status.FAILED_PRECONDITION
          .withDescription(
              "encryption is off on node " + agent.node() + " (porin.agent.encryption=none)")
          .asRuntimeException();
    }
    try {
      String key = wg.rotate();
      response.onNext(
          io.porin.api.agent.v1.RotateKeyResponse.newBuilder()
              .setNode(agent.node())
              .setPublicKey(key)
              .build());
      response.onCompleted();
    } catch (java.io.IOException e) {
      throw Status.INTERNAL
          .withDescription("rotating the WireGuard key: " + e.getMessage())
          .asRuntimeException();
    }
  }

  private static String verdict(int v) {
    return switch (v) {
      case MapLayouts.POLICY_ALLOW -> "allow";
      case MapLayouts.POLICY_AUDIT -> "audit";
      case MapLayouts.POLICY_DENY -> "deny";
      default -> "unknown(" + v + ")";
    };
  }

  private static String describe(Cookies cookies, int cookie) {
    return cookies.resolve(cookie).map(Cookies.Attribution::describe).orElse("");
  }

  @Override
  public void listServices(
      io.porin.api.agent.v1.ListServicesRequest request,
      io.grpc.stub.StreamObserver<io.porin.api.agent.v1.ListServicesResponse> response) {
    requireStarted();
    io.porin.agent.service.ServiceSync sync = agent.services();
    if (sync == null) {
      throw Status.UNAVAILABLE
          .withDescription("services are not programmed yet")
          .asRuntimeException();
    }
    var b = io.porin.api.agent.v1.ListServicesResponse.newBuilder().setNode(agent.node());
    java.util.Map<
            io.porin.agent.datapath.LoadBalancer.Address,
            io.porin.agent.datapath.LoadBalancer.Service>
        frontends;
    java.util.function.IntFunction<String> backendOf;
    if (request.getKernel()) {
      var state = sync.kernel();
      frontends = state.frontends();
      backendOf =
          id -> {
            var a = state.backends().get(id);
            return a == null ? "(missing " + id + ")" : a.toString();
          };
    } else {
      frontends = sync.frontends();
      backendOf =
          id -> {
            var a = sync.backend(id);
            return a == null ? "(missing " + id + ")" : a.toString();
          };
    }
    var sorted = new java.util.ArrayList<>(frontends.entrySet());
    sorted.sort(java.util.Comparator.comparingInt(e -> e.getValue().revNat()));
    for (var e : sorted) {
      var svc = e.getValue();
      var f =
          io.porin.api.agent.v1.ServiceFrontend.newBuilder()
              .setId(svc.revNat())
              .setFrontend(e.getKey().toString())
              .setType(
                  (svc.flags() & io.porin.agent.bpf.MapLayouts.LB_NODE_PORT) != 0
                      ? "NodePort"
                      : "ClusterIP")
              .setService(java.util.Objects.requireNonNullElse(sync.serviceOf(svc.revNat()), ""))
              .setAlgorithm(
                  (svc.flags() & io.porin.agent.bpf.MapLayouts.LB_MAGLEV) != 0
                      ? "maglev"
                      : "random")
              .setAffinityTimeout(
                  (svc.flags() & io.porin.agent.bpf.MapLayouts.LB_AFFINITY) != 0
                      ? svc.affinityTimeout()
                      : 0);
      for (int id : svc.active()) {
        f.addBackends(
            io.porin.api.agent.v1.ServiceBackend.newBuilder()
                .setId(id)
                .setAddress(backendOf.apply(id))
                .setState("active"));
      }
      for (int id : svc.terminating()) {
        f.addBackends(
            io.porin.api.agent.v1.ServiceBackend.newBuilder()
                .setId(id)
                .setAddress(backendOf.apply(id))
                .setState("terminating"));
      }
      b.addFrontends(f);
    }
    response.onNext(b.build());
    response.onCompleted();
  }
}
