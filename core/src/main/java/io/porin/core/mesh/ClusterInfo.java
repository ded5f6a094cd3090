package io.porin.core.mesh;

import io.porin.core.identity.NumericIdentity;
import io.porin.core.ipam.Cidr;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What identifies a cluster in a mesh: its name (the value of the {@code
 * io.cilium.k8s.policy.cluster} label its endpoints carry), its ID (the high bits of its
 * identities) and its pod CIDRs (which routes lead to it). Checked as Cilium checks them: a name of
 * at most 32 lowercase letters, digits and dashes, starting and ending with a letter or digit; an
 * ID in 1..255.
 */
public record ClusterInfo(String name, int id, List<Cidr> podCidrs) {
  /** Cilium's limit on cluster names in a mesh. */
  public static final int MAX_NAME_LENGTH = 32;

  /** The name of a cluster that was never named; it cannot join a mesh. */
  public static final String DEFAULT_NAME = "default";

  private static final Pattern NAME = Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");

  public ClusterInfo {
    podCidrs = List.copyOf(podCidrs);
  }

  /** What is wrong with a cluster's name as a mesh member, or empty when nothing is. */
  public static List<String> nameProblems(String name) {
    List<String> out = new ArrayList<>();
    if (name == null || name.isEmpty()) {
      out.add("cluster name: must be set to join a mesh");
      return out;
    }
    if (name.length() > MAX_NAME_LENGTH) {
      out.add(
          "cluster name: \""
              + name
              + "\" is "
              + name.length()
              + " characters long, more than "
              + MAX_NAME_LENGTH);
    }
    if (!NAME.matcher(name).matches()) {
      out.add(
          "cluster name: \""
              + name
              + "\" must be lowercase letters, digits and '-', starting and ending with a letter or"
              + " digit");
    }
    if (name.equals(DEFAULT_NAME)) {
      out.add(
          "cluster name: \"default\" is the name of a cluster that was never named; give each"
              + " cluster of a mesh its own name");
    }
    return out;
  }

  /** What is wrong with this cluster as a mesh member (name, ID), or empty when nothing is. */
  public List<String> problems() {
    List<String> out = nameProblems(name);
    if (id < NumericIdentity.MIN_CLUSTER_ID || id > NumericIdentity.MAX_CLUSTER_ID) {
      out.add(
          "cluster ID: "
              + id
              + " is outside "
              + NumericIdentity.MIN_CLUSTER_ID
              + ".."
              + NumericIdentity.MAX_CLUSTER_ID);
    }
    return out;
  }

  /**
   * Why {@code a} and {@code b} cannot be in one mesh, naming both values, or empty when they can:
   * each must be valid and give its pod CIDRs, and they must differ in name and ID and share no pod
   * address.
   */
  public static List<String> conflicts(ClusterInfo a, ClusterInfo b) {
    List<String> out = new ArrayList<>();
    for (String p : a.problems()) {
      out.add(a.describe() + ": " + p);
    }
    for (String p : b.problems()) {
      out.add(b.describe() + ": " + p);
    }
    for (ClusterInfo c : List.of(a, b)) {
      if (c.podCidrs.isEmpty()) {
        out.add(
            c.describe()
                + ": pod CIDRs: none given (without them, overlapping pod addresses cannot be"
                + " ruled out)");
      }
    }
    if (a.name.equals(b.name)) {
      out.add(
          "both clusters are named \""
              + a.name
              + "\" (IDs "
              + a.id
              + " and "
              + b.id
              + "): cluster names must differ");
    }
    if (a.id == b.id) {
      out.add(
          "clusters \""
              + a.name
              + "\" and \""
              + b.name
              + "\" both have cluster ID "
              + a.id
              + ": cluster IDs must differ (they are the high bits of every identity)");
    }
    for (Cidr x : a.podCidrs) {
      for (Cidr y : b.podCidrs) {
        if (x.family() == y.family() && x.overlaps(y)) {
          out.add(
              "pod CIDR "
                  + x
                  + " of \""
                  + a.name
                  + "\" overlaps pod CIDR "
                  + y
                  + " of \""
                  + b.name
                  + "\": pod addresses must be unique across the mesh");
        }
      }
    }
    return out;
  }

  /**
   * This cluster as a peer's importer records it ({@code mesh/<peer>/info}): its ID and pod CIDRs,
   * as JSON. The name is the key's.
   */
  public String record() {
    java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("id", id);
    m.put("podCidrs", podCidrs.stream().map(Cidr::toString).toList());
    return io.porin.core.resource.Json.write(m);
  }

  /**
   * Reads what {@link #record()} wrote about cluster {@code name}.
   *
   * @throws IllegalArgumentException naming the field and value when the text is not such a record
   */
  public static ClusterInfo parseRecord(String name, String text) {
    Object tree = io.porin.core.resource.JsonReader.read(text);
    if (!(tree instanceof java.util.Map<?, ?> m)) {
      throw new IllegalArgumentException("cluster " + name + "'s record is not a JSON object");
    }
    if (!(m.get("id") instanceof Long id)
        || id < NumericIdentity.MIN_CLUSTER_ID
        || id > NumericIdentity.MAX_CLUSTER_ID) {
      throw new IllegalArgumentException(
          "cluster " + name + "'s record: id: " + m.get("id") + " is not a cluster ID");
    }
    List<Cidr> cidrs = new ArrayList<>();
    if (!(m.get("podCidrs") instanceof List<?> list)) {
      throw new IllegalArgumentException(
          "cluster " + name + "'s record: podCidrs: " + m.get("podCidrs") + " is not a list");
    }
    for (Object c : list) {
      try {
        cidrs.add(Cidr.parse(String.valueOf(c)));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            "cluster " + name + "'s record: podCidrs: " + c + " is not a CIDR");
      }
    }
    return new ClusterInfo(name, id.intValue(), cidrs);
  }

  /** Whether an address (a host CIDR) is in one of this cluster's pod CIDRs. */
  public boolean holds(Cidr host) {
    return podCidrs.stream().anyMatch(c -> c.family() == host.family() && c.contains(host));
  }

  private String describe() {
    return "cluster \"" + name + "\" (ID " + id + ")";
  }
}
