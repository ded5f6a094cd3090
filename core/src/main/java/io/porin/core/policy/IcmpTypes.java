package io.porin.core.policy;

import java.util.Map;
import java.util.Optional;

/** ICMP and ICMPv6 type names as Cilium's {@code icmps} accepts them (pkg/policy/api/icmp.go). */
public final class IcmpTypes {
  private static final Map<String, Integer> V4 =
      Map.ofEntries(
          Map.entry("EchoReply", 0),
          Map.entry("DestinationUnreachable", 3),
          Map.entry("Redirect", 5),
          Map.entry("Echo", 8),
          Map.entry("EchoRequest", 8),
          Map.entry("RouterAdvertisement", 9),
          Map.entry("RouterSelection", 10),
          Map.entry("TimeExceeded", 11),
          Map.entry("ParameterProblem", 12),
          Map.entry("Timestamp", 13),
          Map.entry("TimestampReply", 14),
          Map.entry("Photuris", 40),
          Map.entry("ExtendedEchoRequest", 42),
          Map.entry("ExtendedEchoReply", 43));

  private static final Map<String, Integer> V6 =
      Map.ofEntries(
          Map.entry("DestinationUnreachable", 1),
          Map.entry("PacketTooBig", 2),
          Map.entry("TimeExceeded", 3),
          Map.entry("ParameterProblem", 4),
          Map.entry("EchoRequest", 128),
          Map.entry("EchoReply", 129),
          Map.entry("MulticastListenerQuery", 130),
          Map.entry("MulticastListenerReport", 131),
          Map.entry("MulticastListenerDone", 132),
          Map.entry("RouterSolicitation", 133),
          Map.entry("RouterAdvertisement", 134),
          Map.entry("NeighborSolicitation", 135),
          Map.entry("NeighborAdvertisement", 136),
          Map.entry("RedirectMessage", 137),
          Map.entry("RouterRenumbering", 138),
          Map.entry("ICMPNodeInformationQuery", 139),
          Map.entry("ICMPNodeInformationResponse", 140),
          Map.entry("InverseNeighborDiscoverySolicitation", 141),
          Map.entry("InverseNeighborDiscoveryAdvertisement", 142),
          Map.entry("HomeAgentAddressDiscoveryRequest", 144),
          Map.entry("HomeAgentAddressDiscoveryReply", 145),
          Map.entry("MobilePrefixSolicitation", 146),
          Map.entry("MobilePrefixAdvertisement", 147),
          Map.entry("DuplicateAddressRequestCodeSuffix", 157),
          Map.entry("DuplicateAddressConfirmationCodeSuffix", 158),
          Map.entry("ExtendedEchoRequest", 160),
          Map.entry("ExtendedEchoReply", 161));

  private IcmpTypes() {}

  /** The type number for a name or a decimal number 0..255, in the family's namespace. */
  public static Optional<Integer> parse(String text, boolean ipv6) {
    if (text.matches("\\d{1,3}")) {
      int n = Integer.parseInt(text);
      return n <= 255 ? Optional.of(n) : Optional.empty();
    }
    return Optional.ofNullable((ipv6 ? V6 : V4).get(text));
  }
}
