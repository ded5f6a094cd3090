package io.porin.core.service;

import io.porin.core.policy.Protocol;
import io.porin.core.resource.Json;
import io.porin.core.resource.JsonReader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A service as the load balancers and the cluster DNS consume it: its frontends (cluster IPs,
 * ports, node ports) and its backends, each backend port already resolved for that pod. The policy
 * service writes one per Service to {@code /porin/v1/services/<namespace>/<name>}; node agents
 * program their maps from it and the cluster DNS answers from it.
 *
 * @param clusterIPs the service's addresses (one per family), empty when headless
 * @param affinityTimeout ClientIP session affinity in seconds, 0 for none
 * @param algorithm {@code random} or {@code maglev}
 * @param mesh how the service spans a cluster mesh ({@link Mesh#LOCAL}: it does not)
 */
public record ServiceRecord(
    String namespace,
    String name,
    String type,
    List<String> clusterIPs,
    boolean headless,
    List<Port> ports,
    int affinityTimeout,
    String algorithm,
    List<Backend> backends,
    Mesh mesh) {

  /** One service port; {@code nodePort} 0 when the service has none. */
  public record Port(String name, int port, Protocol protocol, int nodePort) {}

  /** A backend's state, as EndpointSlice conditions say it. */
  public enum State {
    /** ready: picked for new connections */
    ACTIVE,
    /** going away: picked only when no active backend is left */
    TERMINATING;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * One pod behind the service.
   *
   * @param ports the target port per service port, in the service's port order; 0 where the pod has
   *     no port of that name (it is no backend for that port)
   */
  public record Backend(
      String pod, String node, List<String> addresses, State state, List<Integer> ports) {
    public Backend {
      addresses = List.copyOf(addresses);
      ports = List.copyOf(ports);
    }
  }

  /** Which backends a global service prefers ({@code service.cilium.io/affinity}). */
  public enum Affinity {
    /** every cluster's backends alike */
    NONE,
    /** this cluster's backends while one is ready, else the others' */
    LOCAL,
    /** other clusters' backends while one is ready, else this cluster's */
    REMOTE;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * A service across a cluster mesh, as Cilium's annotations say: {@code global} merges the
   * backends of same-named services of every connected cluster; {@code shared} (true unless said
   * otherwise) exports this cluster's backends to the others.
   */
  public record Mesh(boolean global, boolean shared, Affinity affinity) {
    public static final Mesh LOCAL = new Mesh(false, true, Affinity.NONE);

    /** Whether peer clusters see this service's backends. */
    public boolean exported() {
      return global && shared;
    }
  }

  /** A record of a service that does not span clusters. */
  public ServiceRecord(
      String namespace,
      String name,
      String type,
      List<String> clusterIPs,
      boolean headless,
      List<Port> ports,
      int affinityTimeout,
      String algorithm,
      List<Backend> backends) {
    this(
        namespace,
        name,
        type,
        clusterIPs,
        headless,
        ports,
        affinityTimeout,
        algorithm,
        backends,
        Mesh.LOCAL);
  }

  /** The same service with other backends. */
  public ServiceRecord withBackends(List<Backend> other) {
    return new ServiceRecord(
        namespace,
        name,
        type,
        clusterIPs,
        headless,
        ports,
        affinityTimeout,
        algorithm,
        other,
        mesh);
  }

  public ServiceRecord {
    mesh = mesh == null ? Mesh.LOCAL : mesh;
    clusterIPs = List.copyOf(clusterIPs);
    ports = List.copyOf(ports);
    backends = List.copyOf(backends);
  }

  /** "namespace/name". */
  public String key() {
    return namespace + "/" + name;
  }

  /** The record as the store keeps it. */
  public String toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("namespace", namespace);
    m.put("name", name);
    m.put("type", type);
    m.put("clusterIPs", clusterIPs);
    m.put("headless", headless);
    List<Object> ps = new ArrayList<>();
    for (Port p : ports) {
      Map<String, Object> pm = new LinkedHashMap<>();
      pm.put("name", p.name() == null ? "" : p.name());
      pm.put("port", p.port());
      pm.put("protocol", p.protocol().name());
      pm.put("nodePort", p.nodePort());
      ps.add(pm);
    }
    m.put("ports", ps);
    m.put("affinityTimeout", affinityTimeout);
    m.put("algorithm", algorithm);
    List<Object> bs = new ArrayList<>();
    for (Backend b : backends) {
      Map<String, Object> bm = new LinkedHashMap<>();
      bm.put("pod", b.pod());
      bm.put("node", b.node());
      bm.put("addresses", b.addresses());
      bm.put("state", b.state().label());
      bm.put("ports", b.ports());
      bs.add(bm);
    }
    m.put("backends", bs);
    if (!mesh.equals(Mesh.LOCAL)) {
      Map<String, Object> mm = new LinkedHashMap<>();
      mm.put("global", mesh.global());
      mm.put("shared", mesh.shared());
      mm.put("affinity", mesh.affinity().label());
      m.put("mesh", mm);
    }
    return Json.write(m);
  }

  /**
   * Reads a stored record.
   *
   * @throws IllegalArgumentException naming what is wrong when the text is not a record
   */
  @SuppressWarnings("unchecked")
  public static ServiceRecord parse(String json) {
    Object tree;
    try {
      tree = JsonReader.read(json);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "a service record is not JSON (" + e.getMessage() + "): " + abbreviate(json));
    }
    try {
      Map<String, Object> m = (Map<String, Object>) tree;
      List<Port> ports = new ArrayList<>();
      for (Object o : (List<Object>) m.get("ports")) {
        Map<String, Object> p = (Map<String, Object>) o;
        String name = (String) p.get("name");
        ports.add(
            new Port(
                name == null || name.isEmpty() ? null : name,
                number(p.get("port")),
                Protocol.valueOf((String) p.get("protocol")),
                number(p.get("nodePort"))));
      }
      List<Backend> backends = new ArrayList<>();
      for (Object o : (List<Object>) m.get("backends")) {
        Map<String, Object> b = (Map<String, Object>) o;
        List<Integer> bp = new ArrayList<>();
        for (Object n : (List<Object>) b.get("ports")) {
          bp.add(number(n));
        }
        backends.add(
            new Backend(
                (String) b.get("pod"),
                (String) b.get("node"),
                (List<String>) b.get("addresses"),
                State.valueOf(((String) b.get("state")).toUpperCase(java.util.Locale.ROOT)),
                bp));
      }
      for (Backend b : backends) {
        if (b.ports().size() != ports.size()) {
          throw new IllegalArgumentException(
              "backend " + b.pod() + " has " + b.ports().size() + " ports for " + ports.size());
        }
      }
      return new ServiceRecord(
          (String) m.get("namespace"),
          (String) m.get("name"),
          (String) m.get("type"),
          (List<String>) m.get("clusterIPs"),
          Boolean.TRUE.equals(m.get("headless")),
          ports,
          number(m.get("affinityTimeout")),
          (String) m.get("algorithm"),
          backends,
          mesh(m.get("mesh")));
    } catch (ClassCastException | NullPointerException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "a service record is malformed (" + e.getMessage() + "): " + abbreviate(json));
    }
  }

  @SuppressWarnings("unchecked")
  private static Mesh mesh(Object o) {
    if (o == null) {
      return Mesh.LOCAL;
    }
    Map<String, Object> mm = (Map<String, Object>) o;
    return new Mesh(
        Boolean.TRUE.equals(mm.get("global")),
        !Boolean.FALSE.equals(mm.get("shared")),
        Affinity.valueOf(((String) mm.get("affinity")).toUpperCase(java.util.Locale.ROOT)));
  }

  private static int number(Object o) {
    return ((Number) o).intValue();
  }

  private static String abbreviate(String s) {
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }
}
