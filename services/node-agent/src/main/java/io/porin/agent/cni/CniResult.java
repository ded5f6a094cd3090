package io.porin.agent.cni;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.porin.agent.endpoint.Endpoint;
import io.porin.agent.endpoint.NodeAddresses;

/** The CNI result of an ADD: interfaces, addresses, routes (CNI 1.0; 0.3/0.4 with "version"). */
public final class CniResult {
  private static final ObjectMapper JSON = new ObjectMapper();

  private CniResult() {}

  public static ObjectNode of(Endpoint e, NodeAddresses node, String cniVersion) {
    boolean legacy = !cniVersion.startsWith("1.");
    ObjectNode out = JSON.createObjectNode();
    out.put("cniVersion", cniVersion);
    ArrayNode ifs = out.putArray("interfaces");
    ifs.addObject().put("name", e.hostInterface()).put("mac", e.hostMac());
    ifs.addObject().put("name", e.ifname()).put("mac", e.podMac()).put("sandbox", e.netns());
    ArrayNode ips = out.putArray("ips");
    ObjectNode v4 = ips.addObject();
    if (legacy) {
      v4.put("version", "4");
    }
    v4.put("address", e.ipv4() + "/32").put("gateway", node.gateway4()).put("interface", 1);
    ArrayNode routes = out.putArray("routes");
    routes.addObject().put("dst", "0.0.0.0/0").put("gw", node.gateway4());
    if (e.ipv6() != null) {
      ObjectNode v6 = ips.addObject();
      if (legacy) {
        v6.put("version", "6");
      }
      v6.put("address", e.ipv6() + "/128").put("gateway", node.gateway6()).put("interface", 1);
      routes.addObject().put("dst", "::/0").put("gw", node.gateway6());
    }
    out.putObject("dns");
    return out;
  }
}
