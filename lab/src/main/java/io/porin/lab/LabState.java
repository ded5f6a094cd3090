package io.porin.lab;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a lab is and everything it made, in {@code <lab dir>/lab.json}. Written <em>before</em> each
 * namespace is created and right after each process starts, so that {@code porin lab down} finds
 * everything also after a crash or a half-finished {@code up}. Mutable; one command holds the lab's
 * lock ({@link LabDirectory#lock}) while it reads, changes and saves it.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class LabState {
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public String name;
  public int clusterId;
  public String podCidr;
  public String podCidr6;

  /** Transparent encryption between the nodes: none, or wireguard (and whether strict). */
  public String encryption = "none";

  public boolean encryptionStrict;

  /**
   * True for a lab made with {@code --insecure}: no certificates, plaintext everywhere (for
   * development). Else every component has a certificate of the lab's CA ({@code <lab>/ca}).
   */
  public boolean insecure;

  /**
   * How long the components' certificates live (ISO-8601, e.g. PT24H); they renew themselves at two
   * thirds of it. Null: 24 hours.
   */
  public String certValidity;

  /**
   * The only capabilities the node agents may use (lower-case names, e.g. {@code net_admin}), as a
   * container runtime grants them: the agents (and what they start) run with a bounding set of
   * these. Null: every capability root has.
   */
  public java.util.List<String> agentCapabilities;

  /**
   * How the lab runs etcd, the services and the agents: {@code processes} (the build's jars, the
   * default; null in labs made before there was a choice) or {@code podman} (Porin's images, see
   * {@link Containers}).
   */
  public String runtime;

  /** The version of the images a podman lab runs. */
  public String imageVersion;

  public boolean inContainers() {
    return Containers.PODMAN.equals(runtime);
  }

  /** starting, up, or failed (with {@link #detail}). */
  public String status;

  public String detail;

  /** The control plane's namespace; it also holds the underlay bridge. */
  public Member controlPlane;

  public List<Member> nodes = new ArrayList<>();

  /** Every network namespace this lab created (or was about to), in creation order. */
  public List<String> namespaces = new ArrayList<>();

  /** Every process this lab started, by role ({@code etcd}, {@code agent/<node>}, ...). */
  public Map<String, Proc> processes = new TreeMap<>();

  /** Whether this lab runs its clustermesh service ({@code porin clustermesh enable}). */
  public boolean clustermesh;

  /** Labs whose underlays this one's is linked to ({@code porin lab link}), by name. */
  public List<String> links = new ArrayList<>();

  /** Connected clusters ({@code porin clustermesh connect}): name to clustermesh host:port. */
  public Map<String, String> meshPeers = new TreeMap<>();

  /** Every pod, by {@code namespace/name}. */
  public Map<String, Pod> pods = new TreeMap<>();

  /** A namespace on the underlay: the control plane or a node. */
  public static final class Member {
    public String name;
    public String netns;
    public String address4;
    public String address6;
    public String pinDir;
    public String cniSocket;
  }

  /** A process and a string its command line contains (so a reused PID is never signalled). */
  public static final class Proc {
    public long pid;
    public String marker;
    public String log;

    public Proc() {}

    Proc(long pid, String marker, String log) {
      this.pid = pid;
      this.marker = marker;
      this.log = log;
    }

    /** Whether the recorded process is still this lab's. */
    public boolean alive() {
      return Host.alive(pid) && Host.cmdline(pid).contains(marker);
    }
  }

  /** A pod as the lab runs it. */
  public static final class Pod {
    public String namespace;
    public String name;
    public String node;
    public String netns;
    public String containerId;
    public Map<String, String> labels = new LinkedHashMap<>();
    public List<Integer> tcp = new ArrayList<>();
    public List<Integer> udp = new ArrayList<>();
    public String ipv4;
    public String ipv6;

    /** What runs in the pod: empty for porin-pod, else its workload annotation. */
    public String workload = "";

    /** creating, running, or failed (with {@link #detail}). */
    public String status;

    public String detail;

    public String key() {
      return namespace + "/" + name;
    }
  }

  public Member node(String nodeName) {
    return nodes.stream().filter(n -> n.name.equals(nodeName)).findFirst().orElse(null);
  }

  static LabState read(Path file) {
    try {
      return JSON.readValue(file.toFile(), LabState.class);
    } catch (IOException e) {
      throw new LabException(file + ": not a lab state file: " + e.getMessage());
    }
  }

  /** Writes the file atomically (a crash leaves the old or the new one). */
  void write(Path file) {
    try {
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      JSON.writeValue(tmp.toFile(), this);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
