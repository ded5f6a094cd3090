package io.porin.cli.lab;

import io.porin.cli.GlobalOptions;
import io.porin.cli.Self;
import io.porin.cli.context.Contexts;
import io.porin.cli.output.Output;
import io.porin.cli.output.OutputFormat;
import io.porin.cli.output.Table;
import io.porin.lab.Cgroups;
import io.porin.lab.Host;
import io.porin.lab.Installation;
import io.porin.lab.Lab;
import io.porin.lab.LabDirectory;
import io.porin.lab.LabException;
import io.porin.lab.LabPki;
import io.porin.lab.LabSpec;
import io.porin.lab.LabState;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code porin lab}: a real multi-node Porin cluster on this machine. */
@Command(
    name = "lab",
    description = {
      "A real Porin cluster on this machine: nodes and pods are network namespaces, the real",
      "agents run on the nodes, the real CNI plugin wires the pods. Needs root. Labs live in",
      "$PORIN_LAB_DIR (default /var/lib/porin/labs)."
    },
    subcommands = {
      LabCommand.Up.class,
      LabCommand.Down.class,
      LabCommand.ListLabs.class,
      LabCommand.Exec.class,
      LabCommand.Restart.class,
      LabCommand.AddNode.class,
      LabCommand.Ip.class,
      LabCommand.Link.class
    })
public class LabCommand {
  /** The lab's name when none is given. */
  public static final String DEFAULT_NAME = "lab";

  /** Progress lines: on stdout, or on stderr when stdout is JSON. */
  public static Consumer<String> progress(CommandSpec spec) {
    boolean json = GlobalOptions.of(spec).output() == OutputFormat.JSON;
    PrintWriter w = json ? spec.commandLine().getErr() : spec.commandLine().getOut();
    return line -> {
      w.println(line);
      w.flush();
    };
  }

  /** The context that makes every other porin command talk to this lab. */
  static Contexts.Context context(LabState s) {
    String cp = s.controlPlane.address4;
    Map<String, String> agents = new LinkedHashMap<>();
    for (LabState.Member n : s.nodes) {
      agents.put(n.name, n.address4 + ":" + Lab.AGENT_PORT);
    }
    return new Contexts.Context(
        cp + ":" + Lab.IDENTITY_PORT,
        cp + ":" + Lab.IPAM_PORT,
        cp + ":" + Lab.POLICY_PORT,
        agents.values().iterator().next(),
        cp + ":" + Lab.RELAY_PORT,
        s.name,
        s.controlPlane.netns,
        agents,
        s.insecure ? null : LabPki.caFile(io.porin.cli.Env.labDirectory().of(s.name)).toString(),
        s.insecure
            ? null
            : LabPki.bundle(io.porin.cli.Env.labDirectory().of(s.name), LabPki.admin(s.name))
                .toString(),
        null,
        s.insecure ? Boolean.TRUE : null);
  }

  @Command(
      name = "up",
      description = {
        "Start a lab: etcd and the identity, IPAM and policy services in <name>-cp, and",
        "nodes <name>-node1..N on the lab's underlay bridge, each running its agent. Writes",
        "the context <name> and makes it current."
      })
  static class Up implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--name", description = "The lab's name (default: lab)")
    String name = DEFAULT_NAME;

    @Option(names = "--nodes", description = "How many nodes (default: 3)")
    int nodes = 3;

    @Option(names = "--cluster-id", description = "The cluster ID, 1..255 (default: 1)")
    int clusterId = 1;

    @Option(
        names = "--pod-cidr",
        description = "IPv4 pod pool, a /24 per node (default: 10.200.0.0/16)")
    String podCidr = "10.200.0.0/16";

    @Option(
        names = "--pod-cidr6",
        description = "IPv6 pod pool, a /120 per node (default: fd00:200:<cluster-id>::/104)")
    String podCidr6;

    @Option(
        names = "--encryption",
        description =
            "Encryption between nodes: none or wireguard (kernel WireGuard where the module"
                + " exists, else wireguard-go) (default: none)")
    String encryption = "none";

    @Option(
        names = "--encryption-strict",
        description = "With WireGuard: drop pod traffic between nodes that would leave in clear")
    boolean encryptionStrict;

    @Option(
        names = "--insecure",
        description =
            "Development only: no CA and no certificates; the control plane and etcd speak"
                + " plaintext and take anyone as an admin")
    boolean insecure;

    @Option(
        names = "--cert-validity",
        description =
            "How long the components' certificates live; they renew at two thirds of it"
                + " (default 24h; short ones show renewal at work)")
    String certValidity = "24h";

    @Option(
        names = "--agent-capabilities",
        split = ",",
        description =
            "Run the node agents with these capabilities only, as a container runtime grants"
                + " them (e.g. those of k8s/base/agent.yaml); default: all of root's")
    List<String> agentCapabilities;

    @Option(
        names = "--runtime",
        description =
            "How etcd, the services and the agents run: processes (the build's jars) or podman"
                + " (Porin's images, made by bin/build-images) (default: processes)")
    String runtime = "processes";

    @Override
    public Integer call() throws IOException {
      java.time.Duration validity = io.porin.cli.Durations.parse("--cert-validity", certValidity);
      LabSpec labSpec = new LabSpec(name, nodes, clusterId, podCidr, podCidr6);
      long started = System.nanoTime();
      if (insecure) {
        spec.commandLine()
            .getErr()
            .println(
                "porin: WARNING: --insecure: lab "
                    + name
                    + " runs WITHOUT TLS: anyone who reaches its ports reads and writes"
                    + " everything");
      }
      Lab lab = new Lab(io.porin.cli.Env.labDirectory(), Installation.find(), progress(spec));
      if (agentCapabilities != null) {
        lab.withAgentCapabilities(agentCapabilities);
      }
      lab.withRuntime(runtime);
      LabState s = lab.up(labSpec, encryption, encryptionStrict, insecure, validity);
      Contexts.load(Contexts.defaultPath()).with(s.name, context(s), true);
      int dns = clusterDns(spec, s);
      if (dns != 0) {
        return dns;
      }
      progress(spec)
          .accept(
              String.format(
                  "lab %s is up in %.0f s; context \"%s\" is current (porin lab down --name %s"
                      + " removes it)",
                  s.name, (System.nanoTime() - started) / 1e9, s.name, s.name));
      if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
        spec.commandLine().getOut().println(s.toJson());
        spec.commandLine().getOut().flush();
        return 0;
      }
      spec.commandLine().getOut().println();
      spec.commandLine().getOut().flush();
      return Self.run(spec, List.of("--context", s.name, "status", "--wait", "30s"));
    }
  }

  /** The cluster DNS (kube-system/coredns behind kube-dns), applied as any workload is. */
  static int clusterDns(CommandSpec spec, LabState s) throws IOException {
    Path manifest = io.porin.cli.Env.labDirectory().of(s.name).resolve("cluster-dns.yaml");
    java.nio.file.Files.writeString(manifest, Lab.clusterDnsManifest());
    progress(spec).accept("cluster DNS: kube-system/coredns behind kube-dns " + Lab.CLUSTER_DNS_IP);
    List<String> argv =
        Self.command(spec, List.of("--context", s.name, "apply", "-f", manifest.toString()));
    ProcessBuilder pb = new ProcessBuilder(argv).inheritIO();
    if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
      // stdout carries the lab's JSON only
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(new java.io.File("/dev/stderr")));
    }
    try {
      return pb.start().waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 130;
    }
  }

  @Command(
      name = "down",
      description = {
        "Remove everything a lab made: processes, namespaces, links, bpffs pins, state, and",
        "its context. Also after a crash or a half-finished up."
      })
  static class Down implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--name", description = "The lab's name (default: lab)")
    String name = DEFAULT_NAME;

    @Override
    public Integer call() throws IOException {
      boolean existed =
          new Lab(io.porin.cli.Env.labDirectory(), Installation.find(), progress(spec)).down(name);
      Contexts contexts = Contexts.load(Contexts.defaultPath());
      Contexts.Context ctx = contexts.all().get(name);
      if (ctx != null && name.equals(ctx.lab())) {
        contexts.without(name);
        progress(spec).accept("removed context \"" + name + "\"");
      }
      Output.print(
          spec.commandLine().getOut(),
          GlobalOptions.of(spec).output(),
          () -> Map.of("name", name, "removed", existed),
          () -> existed ? "lab " + name + " removed" : "there is no lab named " + name);
      return 0;
    }
  }

  @Command(name = "list", description = "The labs on this machine.")
  static class ListLabs implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      LabDirectory dir = io.porin.cli.Env.labDirectory();
      List<Map<String, Object>> json = new ArrayList<>();
      Table t =
          new Table(
              "NAME", "STATUS", "RUNTIME", "NODES", "PODS", "CLUSTER-ID", "POD-CIDR", "STATE");
      for (String n : dir.names()) {
        LabState s = dir.load(n).orElseThrow();
        String status =
            "up".equals(s.status) && !Lab.running(s) ? "degraded (a process exited)" : s.status;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", s.name);
        m.put("status", status);
        m.put("detail", s.detail);
        String runtime = s.inContainers() ? s.runtime + " " + s.imageVersion : "processes";
        m.put("runtime", s.inContainers() ? s.runtime : "processes");
        m.put("imageVersion", s.imageVersion);
        m.put("nodes", s.nodes.stream().map(x -> x.name).toList());
        m.put("pods", s.pods.size());
        m.put("clusterId", s.clusterId);
        m.put("podCidr", s.podCidr);
        m.put("podCidr6", s.podCidr6);
        m.put("stateDir", dir.of(n).toString());
        json.add(m);
        t.row(
            s.name,
            status,
            runtime,
            Integer.toString(s.nodes.size()),
            Integer.toString(s.pods.size()),
            Integer.toString(s.clusterId),
            s.podCidr + " " + s.podCidr6,
            dir.of(n).toString());
      }
      PrintWriter out = spec.commandLine().getOut();
      if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
        Output.json(out, json);
      } else {
        t.print(out);
        out.flush();
      }
      return 0;
    }
  }

  @Command(
      name = "exec",
      description = {
        "Run a command inside a pod's network namespace (curl, nc, ... as in a container) and",
        "return its exit code: porin lab exec -n NS POD -- CMD ARGS..."
      })
  static class Exec implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin PodOptions where;

    @Parameters(index = "0", paramLabel = "POD")
    String pod;

    @Parameters(index = "1..*", paramLabel = "CMD", arity = "1..*")
    List<String> command;

    @Override
    public Integer call() throws InterruptedException {
      LabState.Pod p = where.running(spec, pod);
      String lab = labName(spec, where.name);
      Path resolv =
          new Lab(io.porin.cli.Env.labDirectory(), Installation.find(), progress(spec))
              .resolvConf(lab, p.namespace);
      // as in a container: the pod's cgroup (socket load balancing), its network namespace, and
      // its resolv.conf in a mount namespace of the command's own (the host's stays untouched)
      List<String> argv =
          new ArrayList<>(
              List.of(
                  "unshare",
                  "--mount",
                  "--propagation",
                  "private",
                  "sh",
                  "-c",
                  "echo $$ > \"$0/cgroup.procs\" && mount --bind \"$1\" /etc/resolv.conf"
                      + " && ns=\"$2\" && shift 2 && exec nsenter --net=\"$ns\" \"$@\"",
                  Cgroups.pod(lab, p.node, p.namespace, p.name).toString(),
                  resolv.toString(),
                  Host.netnsPath(p.netns).toString()));
      argv.addAll(command);
      try {
        return new ProcessBuilder(argv).inheritIO().start().waitFor();
      } catch (IOException e) {
        spec.commandLine().getErr().println("porin: " + command.getFirst() + ": " + e.getMessage());
        return 127;
      }
    }
  }

  @Command(
      name = "restart",
      description = {
        "Restart a node's agent, or a part of the control plane (etcd, identity, ipam,",
        "policy, relay, clustermesh, or cli: the command server, e.g. after a rebuild):",
        "SIGTERM, or --kill for SIGKILL as a crash. Pods keep their connectivity and",
        "policy meanwhile."
      })
  static class Restart implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--name", description = "The lab (default: the context's lab, else lab)")
    Optional<String> name = Optional.empty();

    @Option(names = "--kill", description = "SIGKILL instead of SIGTERM")
    boolean kill;

    @Parameters(index = "0", paramLabel = "NODE|COMPONENT")
    String node;

    @Override
    public Integer call() throws IOException {
      String lab = labName(spec, name);
      Lab l = new Lab(io.porin.cli.Env.labDirectory(), Installation.find(), progress(spec));
      LabState s =
          io.porin.cli.Env.labDirectory()
              .load(lab)
              .orElseThrow(() -> new LabException("there is no lab named " + lab));
      if (s.node(node) != null) {
        l.restartAgent(lab, node, kill);
      } else {
        l.restartControlPlane(lab, node, kill);
      }
      return 0;
    }
  }

  @Command(
      name = "add-node",
      description = {
        "Add a node to a running lab (the next number), with its agent; the lab's context",
        "learns its agent."
      })
  static class AddNode implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--name", description = "The lab (default: the context's lab, else lab)")
    Optional<String> name = Optional.empty();

    @Override
    public Integer call() throws IOException {
      String lab = labName(spec, name);
      LabDirectory dir = io.porin.cli.Env.labDirectory();
      String node = new Lab(dir, Installation.find(), progress(spec)).addNode(lab);
      LabState s = dir.load(lab).orElseThrow();
      Contexts contexts = Contexts.load(Contexts.defaultPath());
      contexts.with(s.name, context(s), false);
      if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
        spec.commandLine().getOut().println("{\"lab\":\"" + lab + "\",\"node\":\"" + node + "\"}");
      } else {
        spec.commandLine().getOut().println("node " + node + " added to lab " + lab);
      }
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  @Command(
      name = "ip",
      description =
          "Print a pod's address (for scripts: curl http://$(porin lab ip -n NS POD):80/).")
  static class Ip implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin PodOptions where;

    @Option(names = "-6", description = "The IPv6 address")
    boolean ipv6;

    @Parameters(index = "0", paramLabel = "POD")
    String pod;

    @Override
    public Integer call() {
      LabState.Pod p = where.running(spec, pod);
      String ip = ipv6 ? p.ipv6 : p.ipv4;
      if (ip == null) {
        throw new LabException(
            "pod " + where.namespace + "/" + pod + " has no IPv" + (ipv6 ? 6 : 4) + " address");
      }
      Output.print(
          spec.commandLine().getOut(),
          GlobalOptions.of(spec).output(),
          () -> Map.of("namespace", where.namespace, "pod", pod, "ip", ip),
          () -> ip);
      return 0;
    }
  }

  /** Which pod of which lab: --name (else the context's lab) and -n. */
  static class PodOptions {
    @Option(names = "--name", description = "The lab (default: the context's lab, else lab)")
    Optional<String> name = Optional.empty();

    @Option(
        names = {"-n", "--namespace"},
        description = "The pod's namespace (default: default)")
    String namespace = "default";

    /**
     * The pod, running in the lab.
     *
     * @throws LabException naming the pod and the lab when it is not there or not running
     */
    LabState.Pod running(CommandSpec spec, String pod) {
      String lab = labName(spec, name);
      LabState s =
          io.porin.cli.Env.labDirectory()
              .load(lab)
              .orElseThrow(() -> new LabException("there is no lab named " + lab));
      LabState.Pod p = s.pods.get(namespace + "/" + pod);
      if (p == null) {
        throw new LabException("pod " + namespace + "/" + pod + " is not in lab " + lab);
      }
      if (!"running".equals(p.status)) {
        throw new LabException(
            "pod " + namespace + "/" + pod + " is " + p.status + ": " + p.detail);
      }
      return p;
    }
  }

  /** The lab a command means: --name, else the context's lab, else the default name. */
  @Command(
      name = "link",
      description = {
        "Link two running labs' networks as two data centres are: their routers (the control",
        "plane namespaces) get a link and routes to each other's underlay and pod pools, their",
        "nodes a route to the other's underlay. Then porin clustermesh connect can join them.",
        "The labs need different --cluster-id and --pod-cidr."
      })
  static class Link implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "LAB")
    String a;

    @Parameters(index = "1", paramLabel = "OTHER")
    String b;

    @Override
    public Integer call() {
      new io.porin.lab.LabMesh(
              new Lab(io.porin.cli.Env.labDirectory(), Installation.find(), progress(spec)))
          .link(a, b);
      if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
        spec.commandLine().getOut().println("{\"linked\":[\"" + a + "\",\"" + b + "\"]}");
      }
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  static String labName(CommandSpec spec, Optional<String> name) {
    return name.orElseGet(
        () -> {
          String lab = GlobalOptions.of(spec).context().context().lab();
          return lab != null ? lab : DEFAULT_NAME;
        });
  }
}
