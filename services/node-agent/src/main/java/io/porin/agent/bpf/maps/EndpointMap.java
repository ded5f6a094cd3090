package io.porin.agent.bpf.maps;

import static io.porin.agent.bpf.MapLayouts.ENDPOINT;

import io.porin.agent.bpf.BpfMap;
import io.porin.agent.datapath.EndpointConfig;
import java.lang.invoke.VarHandle;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** {@code porin_endpoints}: host-side ifindex to the endpoint, written whole in one update. */
public final class EndpointMap {
  private static final VarHandle ENDPOINT_ID = Fields.scalar(ENDPOINT, "endpoint_id");
  private static final VarHandle IDENTITY = Fields.scalar(ENDPOINT, "identity");
  private static final VarHandle POLICY_REVISION = Fields.scalar(ENDPOINT, "policy_revision");
  private static final VarHandle FLAGS = Fields.scalar(ENDPOINT, "flags");
  private static final VarHandle INGRESS_DEFAULT = Fields.scalar(ENDPOINT, "ingress_default");
  private static final VarHandle EGRESS_DEFAULT = Fields.scalar(ENDPOINT, "egress_default");
  private static final VarHandle POLICY_SLOT = Fields.scalar(ENDPOINT, "policy_slot");
  private static final VarHandle INGRESS_COOKIE = Fields.scalar(ENDPOINT, "ingress_default_cookie");
  private static final VarHandle EGRESS_COOKIE = Fields.scalar(ENDPOINT, "egress_default_cookie");
  private static final long POD_MAC = Fields.bytes(ENDPOINT, "pod_mac");
  private static final long HOST_MAC = Fields.bytes(ENDPOINT, "host_mac");
  private static final long IPV4 = Fields.bytes(ENDPOINT, "ipv4");
  private static final long IPV6 = Fields.bytes(ENDPOINT, "ipv6");

  private final BpfMap map;

  public EndpointMap(BpfMap map) {
    this.map = map;
  }

  public void put(int ifindex, EndpointConfig c) {
    map.update(Fields.intKey(ifindex), encode(c));
  }

  public Optional<EndpointConfig> get(int ifindex) {
    return map.lookup(Fields.intKey(ifindex)).map(EndpointMap::decode);
  }

  public boolean delete(int ifindex) {
    return map.delete(Fields.intKey(ifindex));
  }

  /** Every endpoint by ifindex. */
  public Map<Integer, EndpointConfig> all() {
    Map<Integer, EndpointConfig> out = new LinkedHashMap<>();
    for (byte[] k : map.keys()) {
      map.lookup(k).ifPresent(v -> out.put(Fields.intOf(k), decode(v)));
    }
    return out;
  }

  static byte[] encode(EndpointConfig c) {
    byte[] b = Fields.buffer(ENDPOINT);
    var s = Fields.segment(b);
    ENDPOINT_ID.set(s, c.endpointId());
    IDENTITY.set(s, c.identity());
    POLICY_REVISION.set(s, c.policyRevision());
    FLAGS.set(s, (byte) c.flags());
    INGRESS_DEFAULT.set(s, (byte) c.ingressDefault());
    EGRESS_DEFAULT.set(s, (byte) c.egressDefault());
    POLICY_SLOT.set(s, (byte) c.policySlot());
    INGRESS_COOKIE.set(s, c.ingressDefaultCookie());
    EGRESS_COOKIE.set(s, c.egressDefaultCookie());
    Fields.put(b, POD_MAC, Fields.mac(c.podMac()));
    Fields.put(b, HOST_MAC, Fields.mac(c.hostMac()));
    if (c.ipv4() != null) {
      Fields.put(b, IPV4, Fields.address(c.ipv4()));
    }
    if (c.ipv6() != null) {
      Fields.put(b, IPV6, Fields.address(c.ipv6()));
    }
    return b;
  }

  static EndpointConfig decode(byte[] b) {
    var s = Fields.segment(b);
    byte[] v4 = Fields.get(b, IPV4, 4);
    byte[] v6 = Fields.get(b, IPV6, 16);
    return new EndpointConfig(
        (int) ENDPOINT_ID.get(s),
        (int) IDENTITY.get(s),
        (int) POLICY_REVISION.get(s),
        (byte) POLICY_SLOT.get(s) & 0xFF,
        (byte) FLAGS.get(s) & 0xFF,
        (byte) INGRESS_DEFAULT.get(s) & 0xFF,
        (byte) EGRESS_DEFAULT.get(s) & 0xFF,
        (int) INGRESS_COOKIE.get(s),
        (int) EGRESS_COOKIE.get(s),
        Fields.macText(Fields.get(b, POD_MAC, 6)),
        Fields.macText(Fields.get(b, HOST_MAC, 6)),
        zero(v4) ? null : Fields.addressText(v4),
        zero(v6) ? null : Fields.addressText(v6));
  }

  private static boolean zero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }
}
