package io.porin.core.policy;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** IP protocols as policy entries key them: the IANA number, 0 for any. */
public enum Protocol {
  ANY(0),
  ICMP(1),
  TCP(6),
  UDP(17),
  ICMPV6(58),
  SCTP(132);

  /** What {@code ANY} means in a port rule: the protocols that have ports (as Cilium). */
  public static final List<Protocol> WITH_PORTS = List.of(TCP, UDP, SCTP);

  private final int number;

  Protocol(int number) {
    this.number = number;
  }

  public int number() {
    return number;
  }

  /** The protocol of an IANA number; ANY for numbers Porin does not name. */
  public static Protocol ofNumber(int number) {
    for (Protocol p : values()) {
      if (p.number == number) {
        return p;
      }
    }
    return ANY;
  }

  /** TCP, UDP, SCTP or ANY, as written in a port rule (case-insensitive). */
  public static Optional<Protocol> parsePortProtocol(String text) {
    return switch (text.toUpperCase(Locale.ROOT)) {
      case "TCP" -> Optional.of(TCP);
      case "UDP" -> Optional.of(UDP);
      case "SCTP" -> Optional.of(SCTP);
      case "ANY" -> Optional.of(ANY);
      default -> Optional.empty();
    };
  }

  /** Lower case, as the CLI prints and accepts it. */
  public String display() {
    return this == ANY ? "any" : name().toLowerCase(Locale.ROOT);
  }
}
