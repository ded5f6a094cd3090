package io.porin.agent.endpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.porin.agent.control.LocalIpcache;
import io.porin.agent.control.Publication;
import io.porin.agent.datapath.Datapath;
import io.porin.core.ipam.Cidr;
import io.porin.kvstore.Keys;
import java.util.ArrayList;
import java.util.List;

/**
 * Tells the node and the cluster where an endpoint is: its addresses in the same-node fast path and
 * in this node's ipcache at once, and in etcd (the cluster's ipcache) as soon as etcd takes them.
 * Withdrawing undoes each step and tolerates what is already gone.
 */
public final class EndpointAnnouncer {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String node;
  private final Datapath datapath;
  private final LocalIpcache ipcache;
  private final Publication publication;

  public EndpointAnnouncer(
      String node, Datapath datapath, LocalIpcache ipcache, Publication publication) {
    this.node = node;
    this.datapath = datapath;
    this.ipcache = ipcache;
    this.publication = publication;
  }

  public void announce(Endpoint e) {
    for (String ip : addresses(e)) {
      Cidr h = host(ip);
      datapath.putLocalAddress(h.family(), h.network(), e.ifindex());
      ipcache.putLocal(h, e.identity());
      ObjectNode v = JSON.createObjectNode();
      v.put("ip", ip).put("identity", e.identity()).put("node", node);
      v.put("namespace", e.namespace()).put("pod", e.pod()).put("endpointId", e.id());
      publication.put(Keys.Endpoints.endpoint(node, ip), v.toString());
    }
  }

  public void withdraw(Endpoint e) {
    for (String ip : addresses(e)) {
      publication.remove(Keys.Endpoints.endpoint(node, ip));
      Cidr h = host(ip);
      datapath.deleteLocalAddress(h.family(), h.network());
      ipcache.removeLocal(h);
    }
  }

  static List<String> addresses(Endpoint e) {
    List<String> out = new ArrayList<>();
    out.add(e.ipv4());
    if (e.ipv6() != null) {
      out.add(e.ipv6());
    }
    return out;
  }

  static Cidr host(String ip) {
    return Cidr.parse(ip.contains(":") ? ip + "/128" : ip + "/32");
  }
}
