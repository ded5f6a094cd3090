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

  public AgentDirectory(
      Endpoints endpoints, IpcacheSync ipcache, IdentityLabels identityLabels, Cookies cookies) {
    this.endpoints = endpoints;
    this.ipcache = ipcache;
    this.identityLabels = identityLabels;
    this.cookies = cookies;
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
        : Optional.of(new FlowBuilder.RemotePeer(p.namespace(), p.pod(), p.node(), p.endpointId()));
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
