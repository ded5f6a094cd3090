package io.porin.cli.observe;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.porin.api.hubble.flow.Endpoint;
import io.porin.api.hubble.flow.Flow;
import io.porin.api.hubble.flow.Layer4;
import io.porin.api.hubble.flow.Policy;
import io.porin.api.hubble.flow.Verdict;
import io.porin.api.hubble.observer.GetFlowsResponse;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Flows as {@code hubble observe} prints them: compact (one line, Hubble's layout, plus the
 * deciding policies and ENCRYPTED after the verdict when the flow went through WireGuard), jsonpb
 * (one GetFlowsResponse per line, proto field names), table and dict.
 */
public final class FlowPrinter {
  /** The output formats. */
  public enum Format {
    COMPACT,
    JSON,
    TABLE,
    DICT
  }

  private static final JsonFormat.Printer JSON =
      JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();

  private final Format format;
  private final DateTimeFormatter time;
  private boolean headerDone;

  public FlowPrinter(Format format, ZoneId zone) {
    this.format = format;
    this.time = DateTimeFormatter.ofPattern("MMM ppd HH:mm:ss.SSS", Locale.ENGLISH).withZone(zone);
  }

  /** The text for one response (no trailing newline); empty when it prints nothing. */
  public String print(GetFlowsResponse r) {
    if (format == Format.JSON) {
      try {
        return JSON.print(r);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException(e);
      }
    }
    if (r.hasLostEvents()) {
      return "EVENTS LOST: "
          + r.getLostEvents().getSource().name()
          + " "
          + r.getLostEvents().getNumEventsLost()
          + (r.getNodeName().isEmpty() ? "" : " (node " + r.getNodeName() + ")");
    }
    if (!r.hasFlow()) {
      return "";
    }
    Flow f = r.getFlow();
    return switch (format) {
      case COMPACT -> compact(f);
      case TABLE -> table(f);
      case DICT -> dict(f);
      default -> throw new IllegalStateException();
    };
  }

  String compact(Flow f) {
    String src = endpoint(f.getSource(), f.getIP().getSource(), sourcePort(f.getL4()));
    String dst =
        endpoint(f.getDestination(), f.getIP().getDestination(), destinationPort(f.getL4()))
            + service(f);
    String srcId = identity(f.getSource());
    String dstId = identity(f.getDestination());
    String line;
    if (!f.hasIsReply()) {
      line = src + " " + srcId + " <> " + dst + " " + dstId;
    } else if (f.getIsReply().getValue()) {
      line = dst + " " + dstId + " <- " + src + " " + srcId;
    } else {
      line = src + " " + srcId + " -> " + dst + " " + dstId;
    }
    String by = attribution(f);
    return time.format(instant(f))
        + ": "
        + line
        + " "
        + type(f)
        + " "
        + verdict(f)
        + (f.getIP().getEncrypted() ? " ENCRYPTED" : "")
        + " ("
        + f.getSummary()
        + ")"
        + (by.isEmpty() ? "" : " by " + by);
  }

  String table(Flow f) {
    StringBuilder s = new StringBuilder();
    if (!headerDone) {
      headerDone = true;
      s.append(
          String.format(
              "%-19s %-32s %-32s %-28s %-9s %s%n",
              "TIMESTAMP", "SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"));
    }
    s.append(
        String.format(
            "%-19s %-32s %-32s %-28s %-9s %s",
            time.format(instant(f)),
            endpoint(f.getSource(), f.getIP().getSource(), sourcePort(f.getL4())),
            endpoint(f.getDestination(), f.getIP().getDestination(), destinationPort(f.getL4())),
            type(f),
            verdict(f),
            f.getSummary() + (attribution(f).isEmpty() ? "" : " by " + attribution(f))));
    return s.toString();
  }

  String dict(Flow f) {
    List<String> l = new ArrayList<>();
    l.add("  TIMESTAMP: " + time.format(instant(f)));
    l.add(
        "     SOURCE: "
            + endpoint(f.getSource(), f.getIP().getSource(), sourcePort(f.getL4()))
            + " "
            + identity(f.getSource()));
    l.add(
        "DESTINATION: "
            + endpoint(f.getDestination(), f.getIP().getDestination(), destinationPort(f.getL4()))
            + " "
            + identity(f.getDestination()));
    if (f.hasDestinationService()) {
      l.add(
          "    SERVICE: "
              + f.getDestinationService().getNamespace()
              + "/"
              + f.getDestinationService().getName());
    }
    l.add("       TYPE: " + type(f));
    l.add("    VERDICT: " + verdict(f));
    if (f.getIP().getEncrypted()) {
      l.add("  ENCRYPTED: WireGuard");
    }
    l.add("    SUMMARY: " + f.getSummary());
    l.add("       NODE: " + f.getNodeName());
    if (!attribution(f).isEmpty()) {
      l.add("     POLICY: " + attribution(f));
    }
    return "------------\n" + String.join("\n", l);
  }

  private static Instant instant(Flow f) {
    return Instant.ofEpochSecond(f.getTime().getSeconds(), f.getTime().getNanos());
  }

  static String endpoint(Endpoint e, String ip, int port) {
    String host =
        e.getPodName().isEmpty()
            ? (ip.contains(":") ? "[" + ip + "]" : ip)
            : e.getNamespace() + "/" + e.getPodName();
    return port == 0 ? host : host + ":" + port;
  }

  /** " [service demo/api]" when the connection was addressed to a service. */
  static String service(Flow f) {
    return f.hasDestinationService()
        ? " [service "
            + f.getDestinationService().getNamespace()
            + "/"
            + f.getDestinationService().getName()
            + "]"
        : "";
  }

  static String identity(Endpoint e) {
    for (String l : e.getLabelsList()) {
      if (l.startsWith("reserved:") && e.getIdentity() < 256) {
        return "(" + l.substring("reserved:".length()) + ")";
      }
    }
    return "(ID:" + Integer.toUnsignedString(e.getIdentity()) + ")";
  }

  static String type(Flow f) {
    if (f.getType() == io.porin.api.hubble.flow.FlowType.SOCK) {
      return switch (f.getSockXlatePoint()) {
        case SOCK_XLATE_POINT_PRE_DIRECTION_FWD -> "pre-xlate-fwd";
        case SOCK_XLATE_POINT_POST_DIRECTION_FWD -> "post-xlate-fwd";
        case SOCK_XLATE_POINT_PRE_DIRECTION_REV -> "pre-xlate-rev";
        case SOCK_XLATE_POINT_POST_DIRECTION_REV -> "post-xlate-rev";
        default -> "sock";
      };
    }
    if (f.getEventType().getType() == 5) {
      return "policy-verdict:"
          + io.porin.core.flow.PolicyMatchTypes.name(f.getPolicyMatchType())
          + " "
          + f.getTrafficDirection().name();
    }
    if (f.getVerdict() == Verdict.DROPPED) {
      return io.porin.core.flow.DropReasons.text(f.getDropReason());
    }
    return "to-endpoint";
  }

  static String verdict(Flow f) {
    if (f.getEventType().getType() == 5) {
      return switch (f.getVerdict()) {
        case FORWARDED -> "ALLOWED";
        case DROPPED -> "DENIED";
        case AUDIT -> "AUDITED";
        default -> f.getVerdict().name();
      };
    }
    return f.getVerdict().name();
  }

  /**
   * The policies that decided: the rules' policies, or for default deny (policy-verdict:none) the
   * policies that turned it on.
   */
  static String attribution(Flow f) {
    List<Policy> ps = new ArrayList<>();
    ps.addAll(f.getEgressDeniedByList());
    ps.addAll(f.getIngressDeniedByList());
    if (ps.isEmpty()) {
      ps.addAll(f.getEgressAllowedByList());
      ps.addAll(f.getIngressAllowedByList());
    }
    if (ps.isEmpty()) {
      return "";
    }
    List<String> names = new ArrayList<>();
    for (Policy p : ps) {
      String n = p.getNamespace().isEmpty() ? p.getName() : p.getNamespace() + "/" + p.getName();
      if (!names.contains(n)) {
        names.add(n);
      }
    }
    return String.join(", ", names);
  }

  static int sourcePort(Layer4 l4) {
    return l4.hasTCP()
        ? l4.getTCP().getSourcePort()
        : l4.hasUDP()
            ? l4.getUDP().getSourcePort()
            : l4.hasSCTP() ? l4.getSCTP().getSourcePort() : 0;
  }

  static int destinationPort(Layer4 l4) {
    return l4.hasTCP()
        ? l4.getTCP().getDestinationPort()
        : l4.hasUDP()
            ? l4.getUDP().getDestinationPort()
            : l4.hasSCTP() ? l4.getSCTP().getDestinationPort() : 0;
  }
}
