package io.porin.core.policy;

/**
 * One L4 term: a protocol and a port, a port range ({@code endPort}) or a named port. Port 0 with
 * no name means every port of the protocol. For ICMP and ICMPv6 the port is the ICMP type.
 */
public record PortRule(Protocol protocol, int port, int endPort, String name) {

  public static PortRule of(Protocol protocol, int port) {
    return new PortRule(protocol, port, 0, null);
  }

  public boolean named() {
    return name != null;
  }

  /** The last port of the range (the port itself when no range was given). */
  public int lastPort() {
    return endPort > 0 ? endPort : port;
  }

  @Override
  public String toString() {
    String p = named() ? name : port == 0 ? "*" : endPort > 0 ? port + "-" + endPort : "" + port;
    return p + "/" + protocol.display();
  }
}
