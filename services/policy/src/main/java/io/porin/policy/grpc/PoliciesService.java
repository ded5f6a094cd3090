package io.porin.policy.grpc;

import io.porin.api.policy.v1.Decision;
import io.porin.api.policy.v1.GetRequest;
import io.porin.api.policy.v1.IdentityPolicy;
import io.porin.api.policy.v1.ListRequest;
import io.porin.api.policy.v1.ListResponse;
import io.porin.api.policy.v1.NodeAck;
import io.porin.api.policy.v1.Policies;
import io.porin.api.policy.v1.PolicyStatus;
import io.porin.api.policy.v1.PolicyUpdate;
import io.porin.api.policy.v1.SubscribeRequest;
import io.porin.api.policy.v1.TraceEndpoint;
import io.porin.api.policy.v1.TraceRequest;
import io.porin.api.policy.v1.TraceResponse;
import io.porin.api.policy.v1.WaitRequest;
import io.porin.api.policy.v1.WaitResponse;
import io.porin.core.identity.ReservedIdentity;
import io.porin.core.ipam.Cidr;
import io.porin.core.policy.Direction;
import io.porin.core.policy.PolicyCompiler;
import io.porin.core.policy.Protocol;
import io.porin.core.policy.Verdict;
import io.porin.core.resource.ResourceId;
import io.porin.core.resource.ResourceKind;
import io.porin.policy.compile.PolicyEngine;
import io.porin.policy.stream.Subscriptions;
import io.porin.service.GrpcCalls;
import io.porin.service.tls.Authorization;
import io.porin.service.tls.Caller;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.BackPressureStrategy;
import jakarta.inject.Inject;
import java.math.BigInteger;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** {@code porin.policy.v1.Policies}: translates and delegates to the engine and subscriptions. */
@GrpcService
public class PoliciesService implements Policies {
  private final PolicyEngine engine;
  private final Subscriptions subscriptions;

  private final Authorization authorization;

  @Inject
  public PoliciesService(
      PolicyEngine engine, Subscriptions subscriptions, Authorization authorization) {
    this.authorization = authorization;
    this.engine = engine;
    this.subscriptions = subscriptions;
  }

  @Override
  public Multi<PolicyUpdate> subscribe(Multi<SubscribeRequest> requests) {
    Caller caller = Caller.current(); // read before the stream's first asynchronous step
    return Multi.createFrom()
        .emitter(
            emitter -> {
              Subscriptions.Subscriber s = subscriptions.open(emitter);
              emitter.onTermination(() -> subscriptions.close(s));
              requests
                  .subscribe()
                  .with(
                      r -> {
                        switch (r.getRequestCase()) {
                          case SUBSCRIPTION -> {
                            if (r.getSubscription().getNode().isEmpty()) {
                              emitter.fail(
                                  GrpcCalls.toStatus(
                                      new IllegalArgumentException(
                                          "subscription.node: is required")));
                              return;
                            }
                            try {
                              // A node subscribes, and so acks, for itself only.
                              authorization.requireSelfIfNode(
                                  caller, r.getSubscription().getNode(), "subscribe to policy");
                            } catch (RuntimeException denied) {
                              emitter.fail(denied);
                              return;
                            }
                            subscriptions.subscribe(
                                s,
                                r.getSubscription().getNode(),
                                new HashSet<>(r.getSubscription().getIdentitiesList()));
                          }
                          case ACK -> subscriptions.ack(s, r.getAck().getRevision());
                          default ->
                              emitter.fail(
                                  GrpcCalls.toStatus(
                                      new IllegalArgumentException(
                                          "request: neither a subscription nor an ack")));
                        }
                      },
                      failure -> {
                        subscriptions.close(s);
                        emitter.complete();
                      },
                      () -> {
                        subscriptions.close(s);
                        emitter.complete();
                      });
            },
            BackPressureStrategy.BUFFER);
  }

  @Override
  @Blocking
  public Uni<IdentityPolicy> get(GetRequest request) {
    return GrpcCalls.call(
        () -> {
          PolicyEngine.State state = ready();
          int id =
              switch (request.getEndpointCase()) {
                case IDENTITY -> request.getIdentity();
                case POD -> podIdentity(state, "pod", request.getPod());
                default -> throw new IllegalArgumentException("identity or pod: one is required");
              };
          io.porin.core.policy.IdentityPolicy p = state.policies().get(id);
          if (p == null) {
            throw GrpcCalls.notFound(
                "identity "
                    + Integer.toUnsignedString(id)
                    + " has no compiled policy (not an identity of this cluster, or not known yet)");
          }
          IdentityPolicy.Builder b =
              ProtoMapping.toProto(p, state.revision(), state.identities().get(id)).toBuilder();
          for (io.porin.core.policy.DirectionPolicy d : List.of(p.ingress(), p.egress())) {
            for (int peer : d.byPeer().keySet()) {
              io.porin.core.labels.LabelSet l = state.identities().get(peer);
              if (l == null) {
                l =
                    ReservedIdentity.of(new io.porin.core.identity.NumericIdentity(peer))
                        .map(ReservedIdentity::labels)
                        .orElse(null);
              }
              if (l != null) {
                b.putPeerLabels(peer, String.join(",", l.strings()));
              }
            }
          }
          return b.build();
        });
  }

  @Override
  @Blocking
  public Uni<ListResponse> list(ListRequest request) {
    return GrpcCalls.call(
        () -> {
          PolicyEngine.State state = engine.state();
          ListResponse.Builder b =
              ListResponse.newBuilder().setRevision(state.revision()).setSynced(state.synced());
          for (PolicyEngine.Status s : await(engine.statuses())) {
            b.addPolicies(
                PolicyStatus.newBuilder()
                    .setPolicy(
                        io.porin.api.policy.v1.PolicyRef.newBuilder()
                            .setKind(s.id().kind().kind())
                            .setNamespace(s.id().namespace())
                            .setName(s.id().name()))
                    .setState(s.valid() ? "valid" : "refused")
                    .setError(s.error())
                    .setRules(s.rules())
                    .setSelectedIdentities(s.selected()));
          }
          return b.build();
        });
  }

  @Override
  @Blocking
  public Uni<TraceResponse> trace(TraceRequest request) {
    return GrpcCalls.call(
        () -> {
          PolicyEngine.State state = ready();
          Protocol protocol = protocol(request.getProtocol());
          if (request.getPort() > 65535) {
            throw new IllegalArgumentException("port: " + request.getPort() + " is not a port");
          }
          int port = request.getPort();
          List<String> notes = new ArrayList<>();
          Side from = side(state, "from", request.getFrom());
          Side to = side(state, "to", request.getTo());
          TraceResponse.Builder b =
              TraceResponse.newBuilder()
                  .setFromIdentity(from.identity)
                  .setToIdentity(to.identity)
                  .setRevision(state.revision());
          Verdict v = Verdict.ALLOW;
          Decision egress = decide(state, from, Direction.EGRESS, to, protocol, port, notes);
          Decision ingress = decide(state, to, Direction.INGRESS, from, protocol, port, notes);
          b.setEgress(egress).setIngress(ingress);
          for (Decision d : List.of(egress, ingress)) {
            if (d.getApplies()) {
              v = Verdict.max(v, fromProto(d.getVerdict()));
            }
          }
          return b.setVerdict(ProtoMapping.toProto(v)).addAllNotes(notes).build();
        });
  }

  @Override
  @Blocking
  public Uni<WaitResponse> wait(WaitRequest request) {
    return GrpcCalls.call(
        () -> {
          long timeout = request.getTimeoutMillis() <= 0 ? 30_000 : request.getTimeoutMillis();
          try {
            Subscriptions.WaitResult r =
                subscriptions.waitFor(
                    request.getRevision(), Duration.ofMillis(timeout), engine.state().revision());
            WaitResponse.Builder b =
                WaitResponse.newBuilder().setReached(r.reached()).setRevision(r.revision());
            for (Subscriptions.Subscriber s : r.nodes()) {
              b.addNodes(
                  NodeAck.newBuilder()
                      .setNode(s.node())
                      .setAcknowledged(s.acknowledged())
                      .setIdentities(s.identityCount()));
            }
            return b.build();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
          }
        });
  }

  // ---- helpers --------------------------------------------------------------------------------

  private record Side(int identity, BigInteger address, Cidr.Family family, boolean endpoint) {}

  private PolicyEngine.State ready() {
    PolicyEngine.State s = engine.state();
    if (!s.synced()) {
      throw io.grpc.Status.UNAVAILABLE
          .withDescription("the policy service has not read all identities and resources yet")
          .asRuntimeException();
    }
    return s;
  }

  private static Decision decide(
      PolicyEngine.State state,
      Side subject,
      Direction d,
      Side peer,
      Protocol protocol,
      int port,
      List<String> notes) {
    io.porin.core.policy.IdentityPolicy p = state.policies().get(subject.identity);
    if (!subject.endpoint || p == null) {
      return Decision.newBuilder()
          .setApplies(false)
          .setVerdict(io.porin.api.policy.v1.Verdict.ALLOW)
          .setExplanation(
              "not a Porin endpoint: no " + d.display() + " policy applies on this side")
          .build();
    }
    io.porin.core.policy.DirectionPolicy dp = p.direction(d);
    if (peer.address == null && !dp.cidrClasses().isEmpty()) {
      notes.add(
          d.display()
              + " policy of identity "
              + Integer.toUnsignedString(subject.identity)
              + " has ipBlock rules; the peer's address is not known to the policy service (give"
              + " --from-ip/--to-ip), so they were not applied");
    }
    return ProtoMapping.toProto(
        dp.decide(peer.identity, peer.address, peer.family, protocol, port));
  }

  private Side side(PolicyEngine.State state, String field, TraceEndpoint e) {
    return switch (e.getEndpointCase()) {
      case POD -> {
        if (e.getPod().chars().filter(c -> c == '/').count() == 2) {
          // CLUSTER/NS/NAME: a pod of a connected cluster (its policy is enforced there)
          int id =
              engine
                  .remotePod(e.getPod())
                  .orElseThrow(
                      () ->
                          GrpcCalls.notFound(
                              field
                                  + ".pod: pod "
                                  + e.getPod()
                                  + " is not known among the connected clusters' endpoints"));
          yield new Side(id, null, Cidr.Family.IPV4, false);
        }
        int id = podIdentity(state, field + ".pod", e.getPod());
        yield new Side(id, null, Cidr.Family.IPV4, true);
      }
      case IDENTITY -> {
        int id = e.getIdentity();
        yield new Side(id, null, Cidr.Family.IPV4, state.policies().containsKey(id));
      }
      case IP -> {
        BigInteger address;
        Cidr.Family family;
        try {
          String text = e.getIp();
          if (!text.matches("[0-9a-fA-F:.]+")) {
            throw new IllegalArgumentException();
          }
          byte[] b = InetAddress.getByName(text).getAddress();
          address = new BigInteger(1, b);
          family = b.length == 4 ? Cidr.Family.IPV4 : Cidr.Family.IPV6;
        } catch (Exception ex) {
          throw new IllegalArgumentException(
              field + ".ip: \"" + e.getIp() + "\" is not an IP address");
        }
        yield new Side(
            PolicyCompiler.outsideIdentity(state.cidrIdentities(), address, family),
            address,
            family,
            false);
      }
      default -> throw new IllegalArgumentException(field + ": a pod, identity or ip is required");
    };
  }

  private static int podIdentity(PolicyEngine.State state, String field, String nsName) {
    int slash = nsName.indexOf('/');
    if (slash <= 0 || slash == nsName.length() - 1) {
      throw new IllegalArgumentException(field + ": \"" + nsName + "\" is not namespace/name");
    }
    ResourceId id =
        new ResourceId(ResourceKind.POD, nsName.substring(0, slash), nsName.substring(slash + 1));
    PolicyEngine.PodView v = state.pods().get(id);
    if (v == null) {
      throw GrpcCalls.notFound(field + ": pod " + nsName + " is not known");
    }
    if (v.identity() == null) {
      throw GrpcCalls.notFound(
          field
              + ": pod "
              + nsName
              + " has no identity yet (no identity is allocated for its labels "
              + v.identityLabels()
              + "; a node allocates it when the pod starts)");
    }
    return v.identity();
  }

  static Protocol protocol(String text) {
    if (text.isEmpty()) {
      return Protocol.TCP;
    }
    return switch (text.toLowerCase(Locale.ROOT)) {
      case "tcp" -> Protocol.TCP;
      case "udp" -> Protocol.UDP;
      case "sctp" -> Protocol.SCTP;
      case "icmp" -> Protocol.ICMP;
      case "icmpv6" -> Protocol.ICMPV6;
      default ->
          throw new IllegalArgumentException(
              "protocol: \"" + text + "\" is not tcp, udp, sctp, icmp or icmpv6");
    };
  }

  private static Verdict fromProto(io.porin.api.policy.v1.Verdict v) {
    return switch (v) {
      case DENY -> Verdict.DENY;
      case AUDIT -> Verdict.AUDIT;
      default -> Verdict.ALLOW;
    };
  }

  private static <T> T await(java.util.concurrent.CompletableFuture<T> f) {
    try {
      return f.get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e);
    } catch (TimeoutException e) {
      throw io.grpc.Status.DEADLINE_EXCEEDED
          .withDescription("the policy engine did not answer in 30 s")
          .asRuntimeException();
    }
  }
}
