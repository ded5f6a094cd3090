package io.porin.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * The lab's container runtime: runs each Pod as a network namespace on a node, wired by the real
 * {@code porin-cni} exactly as a runtime calls it (ADD on start, DEL on removal), with {@code
 * porin-pod} serving HTTP on the pod's TCP ports and echoing on its UDP ports. {@link #sync} is a
 * reconciler: given every Pod the store holds, it starts those missing, restarts those whose node
 * or ports changed, and removes those no longer there. A pod whose labels alone changed keeps
 * running: its node's agent follows the labels (a new identity, the same pod), as on Kubernetes.
 */
public final class PodRuntime {
  /** The CNI configuration the lab's "runtime" hands to the plugin. */
  static final String CNI_CONFIG =
      "{\"cniVersion\":\"1.0.0\",\"name\":\"porin\",\"type\":\"porin-cni\"}";

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * A pod annotation choosing what the lab runs in the pod instead of porin-pod: {@code
   * cluster-dns} runs Porin's cluster DNS (services/dns) there.
   */
  public static final String WORKLOAD_ANNOTATION = "lab.porin.io/workload";

  private final LabDirectory dir;
  private final Installation installation;
  private final Consumer<String> progress;

  /** A pod as the store holds it: what the lab needs to run it. */
  public record PodSpec(
      String namespace,
      String name,
      Map<String, String> labels,
      String nodeName,
      List<Integer> tcp,
      List<Integer> udp,
      String workload) {
    public String key() {
      return namespace + "/" + name;
    }

    /**
     * Reads a stored Pod (the JSON document {@code porin apply} stored).
     *
     * @throws LabException naming the field when a port is not a port
     */
    public static PodSpec fromJson(String json) {
      JsonNode doc;
      try {
        doc = JSON.readTree(json);
      } catch (IOException e) {
        throw new LabException("a stored Pod is not JSON: " + e.getMessage());
      }
      JsonNode meta = doc.path("metadata");
      String ns = meta.path("namespace").asText("default");
      String name = meta.path("name").asText();
      Map<String, String> labels = new java.util.TreeMap<>();
      meta.path("labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
      String node = doc.path("spec").path("nodeName").asText("");
      List<Integer> tcp = new ArrayList<>();
      List<Integer> udp = new ArrayList<>();
      int c = 0;
      for (JsonNode container : doc.path("spec").path("containers")) {
        int p = 0;
        for (JsonNode port : container.path("ports")) {
          String field = "spec.containers[" + c + "].ports[" + p + "]";
          int number = port.path("containerPort").asInt(-1);
          if (number < 1 || number > 65535) {
            throw new LabException(
                "Pod "
                    + ns
                    + "/"
                    + name
                    + ": "
                    + field
                    + ".containerPort: "
                    + port.path("containerPort")
                    + " is not a port");
          }
          String protocol = port.path("protocol").asText("TCP");
          switch (protocol) {
            case "TCP" -> addOnce(tcp, number);
            case "UDP" -> addOnce(udp, number);
            default -> {} // SCTP: porin-pod does not serve it
          }
          p++;
        }
        c++;
      }
      String workload = meta.path("annotations").path(WORKLOAD_ANNOTATION).asText("");
      return new PodSpec(ns, name, labels, node, tcp, udp, workload);
    }

    private static void addOnce(List<Integer> list, int port) {
      if (!list.contains(port)) {
        list.add(port);
      }
    }
  }

  public PodRuntime(LabDirectory dir, Installation installation, Consumer<String> progress) {
    this.dir = dir;
    this.installation = installation;
    this.progress = progress;
  }

  /**
   * Makes the lab run exactly {@code desired}.
   *
   * @return the pods that could not be started, with why (the others run)
   */
  public Map<String, String> sync(String lab, List<PodSpec> desired) {
    try (FileLock lock = dir.lock(lab)) {
      LabState s =
          dir.load(lab).orElseThrow(() -> new LabException("there is no lab named " + lab));
      Map<String, PodSpec> want = new LinkedHashMap<>();
      for (PodSpec p : desired) {
        if (!p.nodeName().isEmpty() && s.node(p.nodeName()) == null) {
          throw new LabException(
              "Pod "
                  + p.key()
                  + ": spec.nodeName: \""
                  + p.nodeName()
                  + "\" is not a node of lab "
                  + lab
                  + " ("
                  + String.join(", ", s.nodes.stream().map(n -> n.name).toList())
                  + ")");
        }
        want.put(p.key(), p);
      }
      // Remove what is gone or changed; labels are the agent's to follow.
      for (LabState.Pod running : new ArrayList<>(s.pods.values())) {
        PodSpec w = want.get(running.key());
        if (w == null || changed(running, w) || !"running".equals(running.status)) {
          remove(s, running);
          progress.accept("pod " + running.key() + " deleted");
        } else if (!running.labels.equals(w.labels())) {
          running.labels = new LinkedHashMap<>(w.labels());
          progress.accept("pod " + running.key() + " relabelled (kept running)");
        }
      }
      List<PodSpec> toStart =
          want.values().stream().filter(p -> !s.pods.containsKey(p.key())).toList();
      Map<String, String> failures = new LinkedHashMap<>();
      // Schedule first (spec.nodeName, else the node with the fewest pods), then start each
      // node's pods in parallel with the others': an agent serializes its own CNI calls.
      Map<String, List<LabState.Pod>> byNode = new LinkedHashMap<>();
      for (PodSpec p : toStart) {
        LabState.Pod pod = new LabState.Pod();
        pod.namespace = p.namespace();
        pod.name = p.name();
        pod.node = p.nodeName().isEmpty() ? leastLoaded(s) : p.nodeName();
        pod.netns = lab + "-" + p.namespace() + "-" + p.name();
        pod.containerId = "porin-lab-" + lab + "-" + p.namespace() + "-" + p.name();
        pod.labels = new LinkedHashMap<>(p.labels());
        pod.tcp = p.tcp();
        pod.udp = p.udp();
        pod.workload = p.workload();
        pod.status = "creating";
        s.pods.put(pod.key(), pod);
        byNode.computeIfAbsent(pod.node, k -> new ArrayList<>()).add(pod);
      }
      dir.save(s);
      try (ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, byNode.size()))) {
        List<Future<?>> futures = new ArrayList<>();
        for (List<LabState.Pod> pods : byNode.values()) {
          futures.add(
              pool.submit(
                  () -> {
                    for (LabState.Pod pod : pods) {
                      try {
                        start(s, pod);
                        progress.accept(
                            "pod "
                                + pod.key()
                                + " running on "
                                + pod.node
                                + "  "
                                + pod.ipv4
                                + "  "
                                + pod.ipv6);
                      } catch (RuntimeException e) {
                        pod.status = "failed";
                        pod.detail = e.getMessage();
                        synchronized (failures) {
                          failures.put(pod.key(), e.getMessage());
                        }
                        progress.accept("pod " + pod.key() + " failed: " + e.getMessage());
                      }
                    }
                  }));
        }
        for (Future<?> f : futures) {
          f.get();
        }
      } catch (Exception e) {
        throw new LabException("starting pods: " + e.getMessage());
      } finally {
        synchronized (s) {
          dir.save(s);
        }
      }
      return failures;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static boolean changed(LabState.Pod running, PodSpec w) {
    return !(w.nodeName().isEmpty() || w.nodeName().equals(running.node))
        || !java.util.Objects.equals(running.workload == null ? "" : running.workload, w.workload())
        || !running.tcp.equals(w.tcp())
        || !running.udp.equals(w.udp());
  }

  private static String leastLoaded(LabState s) {
    Map<String, Integer> load = new HashMap<>();
    s.nodes.forEach(n -> load.put(n.name, 0));
    s.pods.values().forEach(p -> load.merge(p.node, 1, Integer::sum));
    return s.nodes.stream()
        .min(Comparator.comparingInt((LabState.Member n) -> load.get(n.name)))
        .orElseThrow()
        .name;
  }

  /** Namespace, CNI ADD, workload; each step undone if a later one fails. */
  private void start(LabState s, LabState.Pod pod) {
    LabState.Member node = s.node(pod.node);
    synchronized (s) {
      s.namespaces.add(pod.netns);
      dir.save(s);
    }
    Host.deleteNetns(pod.netns); // a leftover of a crashed runtime
    Host.addNetns(pod.netns);
    Host.Result add = cni("ADD", node, pod);
    if (!add.ok()) {
      Host.deleteNetns(pod.netns);
      throw new LabException("CNI ADD on " + pod.node + ": " + add.output().strip());
    }
    try {
      JsonNode result = JSON.readTree(add.output());
      for (JsonNode ip : result.path("ips")) {
        String addr = ip.path("address").asText();
        String bare = addr.substring(0, addr.indexOf('/'));
        if (bare.contains(":")) {
          pod.ipv6 = bare;
        } else {
          pod.ipv4 = bare;
        }
      }
    } catch (IOException | StringIndexOutOfBoundsException e) {
      cni("DEL", node, pod);
      Host.deleteNetns(pod.netns);
      throw new LabException("CNI ADD answered what is not a CNI result: " + add.output());
    }
    List<String> argv = workload(s, pod);
    Path log = dir.of(s.name).resolve("logs/pod-" + pod.namespace + "-" + pod.name + ".log");
    Path cgroup = Cgroups.create(Cgroups.pod(s.name, pod.node, pod.namespace, pod.name));
    long pid = Host.spawn(Cgroups.inCgroup(cgroup, Host.inNetns(pod.netns, argv)), log, Map.of());
    synchronized (s) {
      s.processes.put(
          "pod/" + pod.key(),
          new LabState.Proc(pid, String.join(" ", argv.subList(0, 2)), log.toString()));
      pod.status = "running";
      dir.save(s);
    }
  }

  /** What runs in the pod: porin-pod serving its ports, or what its workload annotation names. */
  private List<String> workload(LabState s, LabState.Pod pod) {
    if ("cluster-dns".equals(pod.workload)) {
      List<String> argv =
          new ArrayList<>(
              List.of(
                  installation.java().toString(),
                  "-Xmx96m",
                  "-XX:+UseSerialGC",
                  "-XX:TieredStopAtLevel=1",
                  "-Dporin.etcd.endpoints=" + Lab.etcdUrl(s),
                  "-Dporin.dns.port=53"));
      argv.addAll(Lab.tlsSettings(dir.of(s.name), s, io.porin.tls.PeerIdentity.service("dns")));
      argv.addAll(List.of("-jar", installation.serviceJar("dns").toString()));
      return argv;
    }
    List<String> argv =
        new ArrayList<>(List.of(installation.podProgram().toString(), "serve", pod.key()));
    pod.tcp.forEach(p -> argv.addAll(List.of("--tcp", Integer.toString(p))));
    pod.udp.forEach(p -> argv.addAll(List.of("--udp", Integer.toString(p))));
    return argv;
  }

  /** Workload, CNI DEL, namespace: each step also when an earlier one failed. */
  private void remove(LabState s, LabState.Pod pod) {
    LabState.Proc proc = s.processes.remove("pod/" + pod.key());
    if (proc != null && proc.alive()) {
      Host.stop(List.of(proc.pid), 5);
    }
    LabState.Member node = s.node(pod.node);
    if (node != null) {
      Host.Result del = cni("DEL", node, pod);
      if (!del.ok()) {
        progress.accept("pod " + pod.key() + ": CNI DEL: " + del.output().strip());
      }
    }
    Host.deleteNetns(pod.netns);
    Path cgroup = Cgroups.pod(s.name, pod.node, pod.namespace, pod.name);
    List<Long> left = Cgroups.processes(cgroup);
    if (!left.isEmpty()) {
      Host.stop(left, 5);
    }
    Cgroups.remove(cgroup);
    s.namespaces.remove(pod.netns);
    s.pods.remove(pod.key());
    dir.save(s);
  }

  private Host.Result cni(String command, LabState.Member node, LabState.Pod pod) {
    Map<String, String> env = new HashMap<>();
    env.put("CNI_COMMAND", command);
    env.put("CNI_CONTAINERID", pod.containerId);
    env.put("CNI_NETNS", Host.netnsPath(pod.netns).toString());
    env.put("CNI_IFNAME", "eth0");
    env.put(
        "CNI_ARGS",
        "IgnoreUnknown=1;K8S_POD_NAMESPACE="
            + pod.namespace
            + ";K8S_POD_NAME="
            + pod.name
            + ";K8S_POD_INFRA_CONTAINER_ID="
            + pod.containerId);
    env.put("CNI_PATH", installation.cniPlugin().getParent().toString());
    env.put("PORIN_CNI_SOCKET", node.cniSocket);
    return Host.run(List.of(installation.cniPlugin().toString()), env, CNI_CONFIG, 60);
  }
}
