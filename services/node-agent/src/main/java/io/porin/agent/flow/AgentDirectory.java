package io.porin.agent.flow;

import io.porin.agent.control.IdentityLabels;
import io.porin.agent.control.IpcacheSync;
import io.porin.agent.endpoint.Endpoint;
import io.porin.agent.endpoint.Endpoints;
import io.porin.agent.policy.Cookies;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/** What flows are enriched with: this node's endpoints, the cluster's addresses, identities. */
public final class AgentDirectory implements FlowBuilder.Directory {
  private final Endpoints endpoints;
  private final IpcacheSync ipcache;
  private final IdentityLabels identityLabels;
  private final Cookies cookies;
  private final java.util.function.IntFunction<String> services;
  private final java.util.Map<String, Long> netnsCookies =
      new java.util.concurrent.ConcurrentHashMap<>();

  public AgentDirectory(
      Endpoints endpoints, IpcacheSync ipcache, IdentityLabels identityLabels, Cookies cookies) {
    this(endpoints, ipcache, identityLabels, cookies, revNat -> null);
  }

  /**
   * @param services the service ("namespace/name") of a frontend number, or null
   */
  public AgentDirectory(
      Endpoints endpoints,
      IpcacheSync ipcache,
      IdentityLabels identityLabels,
      Cookies cookies,
      java.util.function.IntFunction<String> services) {
    this.endpoints = endpoints;
    this.ipcache = ipcache;
    this.identityLabels = identityLabels;
    this.cookies = cookies;
    this.services = services;
  }

  @Override
  public Optional<String> service(int revNat) {
    return Optional.ofNullable(services.apply(revNat));
  }

  /**
   * The endpoint whose namespace has the cookie: each endpoint's cookie is read once (from its
   * namespace) and kept while the endpoint's namespace is the same.
   */
  @Override
  public Optional<FlowBuilder.SocketClient> socketClient(long cookie) {
    for (var live : endpoints.list()) {
      Endpoint e = live.endpoint();
      if (e.netns() == null || e.netns().isEmpty()) {
        continue;
      }
      long c =
          netnsCookies.computeIfAbsent(
              e.id() + "@" + e.netns(),
              k -> io.porin.agent.net.NetnsCookie.of(e.netns()).orElse(-1));
      if (c == cookie) {
        return Optional.of(
            new FlowBuilder.SocketClient(
                new FlowBuilder.LocalEndpoint(
                    e.id(), e.namespace(), e.pod(), e.labels(), e.hostInterface()),
                e.identity(),
                e.ipv4(),
                e.ipv6()));
      }
    }
    if (netnsCookies.size() > 4 * Math.max(16, endpoints.list().size())) {
      netnsCookies.clear(); // endpoints come and go: forget the ones gone
    }
    return Optional.empty();
  }

  @Override
  public Optional<FlowBuilder.LocalEndpoint> local(int id) {
    return endpoints
        .byId(id)
        .map(
            l -> {
              Endpoint e = l.endpoint();
              return new FlowBuilder.LocalEndpoint(
                  e.id(), e.namespace(), e.pod(), e.labels(), e.hostInterface());
            });
  }

  @Override
  public Optional<FlowBuilder.RemotePeer> peer(InetAddress a) {
    IpcacheSync.Peer p = ipcache.peer(a);
    return p == null
        ? Optional.empty()
        : Optional.of(
            new FlowBuilder.RemotePeer(
                p.namespace(), p.pod(), p.node(), p.endpointId(), p.identity()));
  }

  @Override
  public List<String> labels(int identity) {
    return identityLabels.of(identity);
  }

  @Override
  public Optional<Cookies.Attribution> attribution(int cookie) {
    return cookies.resolve(cookie);
  }
}
