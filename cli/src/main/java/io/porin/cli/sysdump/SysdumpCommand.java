package io.porin.cli.sysdump;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.porin.api.agent.v1.EncryptStatusRequest;
import io.porin.api.agent.v1.Endpoint;
import io.porin.api.agent.v1.GetPolicyMapRequest;
import io.porin.api.agent.v1.ListEndpointsRequest;
import io.porin.api.agent.v1.ListServicesRequest;
import io.porin.api.agent.v1.StatusRequest;
import io.porin.api.hubble.observer.GetFlowsRequest;
import io.porin.api.hubble.observer.GetFlowsResponse;
import io.porin.cli.Env;
import io.porin.cli.GlobalOptions;
import io.porin.cli.Main;
import io.porin.cli.ServiceCall;
import io.porin.cli.cluster.Cluster;
import io.porin.cli.cluster.StatusCommand;
import io.porin.cli.context.Contexts;
import io.porin.lab.LabState;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code porin sysdump}: what a maintainer needs from a cluster or lab, in one {@code .tar.gz}:
 * versions, the context, status, identities, policies and stored resources, each node's agent
 * (status, endpoints, the compiled policy map of every endpoint, the kernel's service maps,
 * encryption, metrics with the maps' pressure), recent flows, every service's metrics, and for a
 * lab its layout, its components' settings and the last lines of every log. Each part has a time
 * bound, and one that fails or times out is recorded as such in the index, so a half-dead cluster
 * still yields a bundle. Private keys and the values of password, secret and token settings never
 * go in ({@link Redact}).
 */
@Command(
    name = "sysdump",
    description = {
      "Collect a bug report bundle (.tar.gz, with index.txt and index.json listing every part)",
      "from every component of the context's cluster or lab; progress on stderr.",
      "-o/--output FILE: the bundle (default: porin-sysdump-<time>.tar.gz here)."
    })
public class SysdumpCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--part-timeout",
      description = "How long one part may take (default: ${DEFAULT-VALUE})",
      defaultValue = "20s",
      converter = io.porin.cli.Durations.Converter.class)
  Duration partTimeout;

  @Option(
      names = "--log-lines",
      description = "The last lines of each log kept (default: ${DEFAULT-VALUE})",
      defaultValue = "1000")
  int logLines;

  @Option(
      names = "--flows",
      description = "Recent flows kept (default: ${DEFAULT-VALUE})",
      defaultValue = "2000")
  int flows;

  private static final JsonFormat.Printer PROTO =
      JsonFormat.printer().preservingProtoFieldNames().includingDefaultValueFields();
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** One part of the bundle: its path in it, and what makes its content. */
  record Part(String path, Callable<String> content) {}

  /** A part as the index records it. */
  record Entry(String path, String state, long bytes, long millis, String error) {}

  @Override
  public Integer call() throws Exception {
    if (logLines < 0 || flows < 0) {
      spec.commandLine().getErr().println("porin: --log-lines and --flows must not be negative");
      return Main.BAD_INPUT;
    }
    Contexts.Named ctx = GlobalOptions.of(spec).context();
    // -o/--output FILE (the global option's text: for sysdump a file, not a format)
    Path out =
        GlobalOptions.of(spec).outputText().isPresent()
            ? Path.of(GlobalOptions.of(spec).outputText().get())
            : Path.of(
                "porin-sysdump-"
                    + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
                        .withZone(ZoneOffset.UTC)
                        .format(Instant.now())
                    + ".tar.gz");
    PrintWriter err = spec.commandLine().getErr();
    try (Cluster c = new Cluster(ctx.context())) {
      List<Part> parts = parts(ctx, c);
      List<Entry> index = new ArrayList<>();
      Path tmp = out.toAbsolutePath().resolveSibling("." + out.getFileName() + ".tmp");
      try (OutputStream file = Files.newOutputStream(tmp);
          Tar tar = new Tar(file)) {
        int i = 0;
        for (Part p : parts) {
          i++;
          long start = System.nanoTime();
          Entry e;
          try {
            String text = Redact.text(run(p.content()));
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            tar.add("sysdump/" + p.path(), bytes);
            e = new Entry(p.path(), "ok", bytes.length, millis(start), null);
          } catch (TimeoutException t) {
            e = new Entry(p.path(), "timed out", 0, millis(start), "after " + partTimeout);
          } catch (Exception x) {
            Throwable cause = x.getCause() != null ? x.getCause() : x;
            e = new Entry(p.path(), "failed", 0, millis(start), Redact.text(String.valueOf(cause)));
          }
          index.add(e);
          err.printf(
              "[%d/%d] %-40s %s (%d ms)%s%n",
              i,
              parts.size(),
              p.path(),
              e.state(),
              e.millis(),
              e.error() == null ? "" : ": " + e.error());
          err.flush();
        }
        tar.add("sysdump/index.json", JSON.writeValueAsBytes(index));
        tar.add("sysdump/index.txt", indexText(ctx, index).getBytes(StandardCharsets.UTF_8));
      }
      Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      long failed = index.stream().filter(e -> !e.state().equals("ok")).count();
      PrintWriter o = spec.commandLine().getOut();
      o.println(
          out
              + ": "
              + index.size()
              + " parts, "
              + (index.size() - failed)
              + " collected"
              + (failed == 0 ? "" : ", " + failed + " failed or timed out (see index.txt)"));
      o.flush();
      return 0;
    } catch (IOException e) {
      err.println("porin: cannot write " + out + ": " + e.getMessage());
      return ServiceCall.FAILED;
    }
  }

  private String run(Callable<String> content) throws Exception {
    CompletableFuture<String> f =
        Cluster.async(
            () -> {
              try {
                return content.call();
              } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
              }
            });
    try {
      return f.get(partTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof java.util.concurrent.CompletionException && c.getCause() != null) {
        c = c.getCause();
      }
      throw c instanceof Exception ex ? ex : new RuntimeException(c);
    }
  }

  private static long millis(long start) {
    return (System.nanoTime() - start) / 1_000_000;
  }

  static String indexText(Contexts.Named ctx, List<Entry> index) {
    StringBuilder b = new StringBuilder();
    b.append("porin sysdump of context ")
        .append(ctx.name())
        .append(ctx.context().lab() != null ? " (lab " + ctx.context().lab() + ")" : "")
        .append(", ")
        .append(Instant.now())
        .append('\n');
    for (Entry e : index) {
      b.append(
          String.format(
              "%-44s %-10s %9d bytes %6d ms", e.path(), e.state(), e.bytes(), e.millis()));
      if (e.error() != null) {
        b.append("  ").append(e.error());
      }
      b.append('\n');
    }
    return b.toString();
  }

  /** Every part, in the order they are collected. */
  List<Part> parts(Contexts.Named ctx, Cluster c) {
    Contexts.Context cx = ctx.context();
    List<Part> parts = new ArrayList<>();
    parts.add(new Part("version.txt", SysdumpCommand::version));
    parts.add(new Part("context.json", () -> json(Map.of("name", ctx.name(), "context", cx))));
    parts.add(new Part("status.json", () -> json(StatusCommand.collect(c))));
    parts.add(
        new Part(
            "identities.json",
            () ->
                proto(
                    c.identity().list(io.porin.api.identity.v1.ListRequest.getDefaultInstance()))));
    parts.add(
        new Part(
            "ipam.json",
            () -> proto(c.ipam().list(io.porin.api.ipam.v1.ListRequest.getDefaultInstance()))));
    parts.add(
        new Part(
            "policies.json",
            () -> proto(c.policy().list(io.porin.api.policy.v1.ListRequest.getDefaultInstance()))));
    for (String kind : List.of("namespaces", "pods", "services", "networkpolicies")) {
      parts.add(new Part("resources/" + kind + ".json", () -> stored(c, kind)));
    }
    parts.add(new Part("flows.jsonl", () -> flows(c)));
    Map<String, String> services = new LinkedHashMap<>();
    services.put("identity", cx.identity());
    services.put("ipam", cx.ipam());
    services.put("policy", cx.policy());
    services.put("relay", cx.relay());
    services.forEach(
        (name, at) -> parts.add(new Part("metrics/" + name + ".txt", () -> body(c.metrics(at)))));
    cx.agents()
        .forEach(
            (node, at) -> {
              String dir = "nodes/" + (node.isEmpty() ? "agent" : node) + "/";
              parts.add(
                  new Part(
                      dir + "status.json",
                      () -> proto(c.agent(at).status(StatusRequest.getDefaultInstance()))));
              parts.add(
                  new Part(
                      dir + "endpoints.json",
                      () ->
                          proto(
                              c.agent(at)
                                  .listEndpoints(ListEndpointsRequest.getDefaultInstance()))));
              parts.add(new Part(dir + "policy-maps.json", () -> policyMaps(c, at)));
              parts.add(
                  new Part(
                      dir + "services-kernel.json",
                      () ->
                          proto(
                              c.agent(at)
                                  .listServices(
                                      ListServicesRequest.newBuilder().setKernel(true).build()))));
              parts.add(
                  new Part(
                      dir + "encryption.json",
                      () ->
                          proto(
                              c.agent(at)
                                  .encryptStatus(EncryptStatusRequest.getDefaultInstance()))));
              parts.add(new Part(dir + "metrics.txt", () -> body(c.metrics(at))));
            });
    if (cx.lab() != null) {
      Path home = Env.labDirectory().of(cx.lab());
      parts.add(new Part("lab/lab.json", () -> Files.readString(home.resolve("lab.json"))));
      parts.add(new Part("lab/settings.txt", () -> settings(home)));
      List<Path> logs = new ArrayList<>();
      try (var files = Files.list(home.resolve("logs"))) {
        files.filter(Files::isRegularFile).sorted().forEach(logs::add);
      } catch (IOException e) {
        parts.add(
            new Part(
                "lab/logs",
                () -> {
                  throw e;
                }));
      }
      for (Path log : logs) {
        parts.add(new Part("lab/logs/" + log.getFileName(), () -> tail(log, logLines)));
      }
    }
    return parts;
  }

  static String version() {
    return io.porin.cli.PorinCommand.class.getAnnotation(Command.class).version()[0]
        + "\njava "
        + System.getProperty("java.version")
        + " ("
        + System.getProperty("java.vendor")
        + ")\nkernel "
        + readOr(Path.of("/proc/version"))
        + "os "
        + readOr(Path.of("/etc/os-release")).lines().findFirst().orElse("")
        + "\n";
  }

  private static String readOr(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return "(" + e.getMessage() + ")\n";
    }
  }

  private static String json(Object o) throws IOException {
    return JSON.writeValueAsString(o);
  }

  private static String proto(MessageOrBuilder m) throws IOException {
    return PROTO.print(m);
  }

  private static String body(Cluster.Answer<String> a) {
    if (!a.ok()) {
      throw new IllegalStateException(a.error());
    }
    return a.value();
  }

  private static String stored(Cluster c, String kind) throws IOException {
    var a = c.stored(kind, null);
    if (!a.ok()) {
      throw new IllegalStateException(a.error());
    }
    StringBuilder b = new StringBuilder("[\n");
    for (int i = 0; i < a.value().size(); i++) {
      b.append(proto(a.value().get(i))).append(i + 1 < a.value().size() ? ",\n" : "\n");
    }
    return b.append("]\n").toString();
  }

  private String flows(Cluster c) throws IOException {
    StringBuilder b = new StringBuilder();
    Iterator<GetFlowsResponse> it =
        c.relay().getFlows(GetFlowsRequest.newBuilder().setNumber(flows).build());
    JsonFormat.Printer line =
        JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();
    while (it.hasNext()) {
      b.append(line.print(it.next())).append('\n');
    }
    return b.toString();
  }

  private static String policyMaps(Cluster c, String at) throws IOException {
    StringBuilder b = new StringBuilder("[\n");
    List<Endpoint> eps =
        c.agent(at).listEndpoints(ListEndpointsRequest.getDefaultInstance()).getEndpointsList();
    for (int i = 0; i < eps.size(); i++) {
      b.append(
              proto(
                  c.agent(at)
                      .getPolicyMap(
                          GetPolicyMapRequest.newBuilder().setId(eps.get(i).getId()).build())))
          .append(i + 1 < eps.size() ? ",\n" : "\n");
    }
    return b.append("]\n").toString();
  }

  /** Each lab process's role, PID and command line (its settings), as it runs now. */
  private static String settings(Path home) throws IOException {
    LabState s =
        Env.labDirectory()
            .load(home.getFileName().toString())
            .orElseThrow(() -> new IOException("no lab state in " + home));
    StringBuilder b = new StringBuilder();
    for (var e : s.processes.entrySet()) {
      Path cmdline = Path.of("/proc", String.valueOf(e.getValue().pid), "cmdline");
      String cmd =
          Files.isReadable(cmdline)
              ? new String(Files.readAllBytes(cmdline), StandardCharsets.UTF_8).replace('\0', ' ')
              : "(not running)";
      b.append(e.getKey())
          .append(" (pid ")
          .append(e.getValue().pid)
          .append("): ")
          .append(cmd)
          .append('\n');
    }
    return b.toString();
  }

  /** The last {@code n} lines of a file, reading at most its last 16 MiB. */
  static String tail(Path file, int n) throws IOException {
    try (var ch = java.nio.channels.FileChannel.open(file)) {
      long size = ch.size();
      long from = Math.max(0, size - 16L * 1024 * 1024);
      java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) (size - from));
      ch.read(buf, from);
      String text = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
      List<String> lines = text.lines().toList();
      return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size())) + "\n";
    }
  }
}
