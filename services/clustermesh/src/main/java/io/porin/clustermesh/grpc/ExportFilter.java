package io.porin.clustermesh.grpc;

import io.porin.core.ipam.Cidr;
import io.porin.core.resource.JsonReader;
import io.porin.core.service.ServiceRecord;
import io.porin.kvstore.Keys;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What this cluster tells its peers, checked as its own agents check it before believing it: an
 * endpoint only when the node its key names holds the IPAM block of its address; a node record only
 * when every pod CIDR it claims is a block IPAM gave that node; a service only when global and
 * shared. So a node of this cluster that writes what it does not hold (its certificate lets it
 * write its own keys only, not the truth) is not amplified to every connected cluster. One per
 * export stream: it follows the IPAM blocks through the same watch.
 */
final class ExportFilter {
  private final Map<Cidr, String> blocks = new HashMap<>();

  /** Learns an IPAM block record (a PUT, or a DELETE when {@code value} is null). */
  void block(String key, String value) {
    String rest = key.substring(Keys.Ipam.BLOCKS_PREFIX.length());
    int slash = rest.indexOf('/');
    try {
      Cidr b = Cidr.parse(rest.substring(slash + 1).replace('_', '/'));
      if (value == null) {
        blocks.remove(b);
      } else {
        blocks.put(b, value);
      }
    } catch (RuntimeException e) {
      // not a block key
    }
  }

  /** The relative key to export this record under, or empty when it is not exported. */
  Optional<String> exported(String key, String value) {
    Optional<String> rel = Keys.Mesh.exported(key);
    if (rel.isEmpty()) {
      return rel;
    }
    String r = rel.get();
    try {
      if (r.startsWith("services/")) {
        return ServiceRecord.parse(value).mesh().exported() ? rel : Optional.empty();
      }
      if (r.startsWith("endpoints/")) {
        String node = Keys.Endpoints.nodeOf(key).orElseThrow();
        String ip = Keys.Endpoints.ipOf(key).orElseThrow();
        return owns(node, Cidr.parse(ip.contains(":") ? ip + "/128" : ip + "/32"))
            ? rel
            : Optional.empty();
      }
      if (r.startsWith("nodes/")) {
        String node = r.substring("nodes/".length());
        Map<?, ?> v = (Map<?, ?>) JsonReader.read(value);
        for (String field : List.of("ipv4Cidrs", "ipv6Cidrs")) {
          if (v.get(field) instanceof List<?> cidrs) {
            for (Object c : cidrs) {
              if (!node.equals(blocks.get(Cidr.parse(String.valueOf(c))))) {
                return Optional.empty();
              }
            }
          }
        }
        return rel;
      }
    } catch (RuntimeException e) {
      return Optional.empty();
    }
    return rel;
  }

  private boolean owns(String node, Cidr host) {
    for (Map.Entry<Cidr, String> b : blocks.entrySet()) {
      if (b.getKey().contains(host)) {
        return b.getValue().equals(node);
      }
    }
    return false;
  }
}
