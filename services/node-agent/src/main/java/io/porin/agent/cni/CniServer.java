package io.porin.agent.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.porin.agent.endpoint.EndpointLifecycle;
import io.porin.agent.endpoint.LiveEndpoint;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.jboss.logging.Logger;

/**
 * The agent's side of the CNI plugin: a unix socket taking one call per connection (the plugin's
 * environment and stdin as JSON) and answering "exit code, newline, output". Validation happens
 * here, so every malformed call gets the CNI error JSON naming what is wrong.
 *
 * <p>The socket is the agent's most privileged door (it creates interfaces in any namespace it is
 * given): it is created 0600, only root peers (SO_PEERCRED) are served, a request is at most {@link
 * #MAX_REQUEST_BYTES} and must arrive within the read timeout, container IDs are {@code
 * [A-Za-z0-9_.-]}, and the agent's own network namespace (or the host's) is refused as a pod's.
 */
public final class CniServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(CniServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final Set<String> VERSIONS = Set.of("0.3.0", "0.3.1", "0.4.0", "1.0.0");

  /** The largest request read; the plugin sends a few kilobytes. */
  public static final int MAX_REQUEST_BYTES = 1 << 20;

  /** CNI's container ID: alphanumeric, underscore, period, hyphen (starting alphanumeric). */
  private static final Pattern CONTAINER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]{0,255}");

  private static final List<Path> HOST_NAMESPACES =
      List.of(Path.of("/proc/self/ns/net"), Path.of("/proc/1/ns/net"));

  private final Path socket;
  private final EndpointLifecycle lifecycle;
  private final Duration readTimeout;
  private final ScheduledExecutorService deadlines =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("porin-cni-deadline").daemon().unstarted(r));
  private final AtomicLong refused = new AtomicLong();
  private ServerSocketChannel server;
  private volatile boolean running = true;

  /**
   * @param readTimeout how long a peer may take to send its request
   */
  public CniServer(Path socket, EndpointLifecycle lifecycle, Duration readTimeout) {
    this.socket = socket;
    this.lifecycle = lifecycle;
    this.readTimeout = readTimeout;
  }

  /**
   * Binds the socket in a private (0700) directory, makes it 0600, then moves it into place: there
   * is no moment at which another user could connect.
   */
  public void start() throws IOException {
    Path dir = socket.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path staging =
        Files.createTempDirectory(
            dir,
            ".cni-",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path bound = staging.resolve("cni.sock");
    try {
      server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      server.bind(UnixDomainSocketAddress.of(bound));
      Files.setPosixFilePermissions(bound, PosixFilePermissions.fromString("rw-------"));
      Files.move(
          bound, socket, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(bound);
      Files.deleteIfExists(staging);
    }
    Thread.ofPlatform().name("porin-cni-accept").daemon().start(this::accept);
    LOG.infof("CNI requests on %s", socket);
  }

  /** Connections refused: not root, too large, too slow. */
  public long refused() {
    return refused.get();
  }

  private void accept() {
    while (running) {
      try {
        SocketChannel c = server.accept();
        Thread.ofVirtual().name("porin-cni").start(() -> serve(c));
      } catch (IOException e) {
        if (running) {
          LOG.warnf("CNI socket: %s", e.getMessage());
        }
      }
    }
  }

  private void serve(SocketChannel c) {
    ScheduledFuture<?> deadline =
        deadlines.schedule(
            () -> {
              refused.incrementAndGet();
              LOG.warnf("CNI connection: no request within %s, closed", readTimeout);
              close(c);
            },
            readTimeout.toMillis(),
            TimeUnit.MILLISECONDS);
    try (c;
        InputStream in = Channels.newInputStream(c);
        OutputStream out = Channels.newOutputStream(c)) {
      // The request is read (bounded in size, and in time by the deadline) before any answer,
      // refusals included: a caller still writing when the socket closes would get no answer.
      byte[] request = in.readNBytes(MAX_REQUEST_BYTES + 1);
      if (request.length > MAX_REQUEST_BYTES) {
        in.transferTo(OutputStream.nullOutputStream());
      }
      deadline.cancel(false);
      String peer = peer(c);
      Answer a;
      if (peer != null) {
        refused.incrementAndGet();
        LOG.warnf("CNI connection from %s refused: only root may call the CNI socket", peer);
        a = error("1.0.0", CniException.PERMISSION_DENIED, "only root may call " + socket, peer);
      } else if (request.length > MAX_REQUEST_BYTES) {
        refused.incrementAndGet();
        a =
            error(
                "1.0.0",
                CniException.DECODE_FAILURE,
                "the request is larger than " + MAX_REQUEST_BYTES + " bytes",
                "");
      } else {
        a = handle(new String(request, StandardCharsets.UTF_8));
      }
      out.write((a.exitCode() + "\n" + a.output()).getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      LOG.debugf("CNI connection: %s", e.getMessage());
    } finally {
      deadline.cancel(false);
    }
  }

  /** Null when the peer is root (or this agent's own user); else who it is. */
  private static String peer(SocketChannel c) throws IOException {
    UnixDomainPrincipal p = c.getOption(ExtendedSocketOptions.SO_PEERCRED);
    UserPrincipal user = p.user();
    String name = user.getName();
    if (name.equals("root") || name.equals("0") || name.equals(System.getProperty("user.name"))) {
      return null;
    }
    return "user " + name;
  }

  private static void close(SocketChannel c) {
    try {
      c.close();
    } catch (IOException ignored) {
      // closing a connection that timed out: nothing more to do
    }
  }

  /** What the plugin prints and its exit code. */
  public record Answer(int exitCode, String output) {}

  /** Handles one forwarded call (public for tests that skip the socket). */
  public Answer handle(String request) {
    String version = "1.0.0";
    String command = "";
    try {
      JsonNode envelope = JSON.readTree(request);
      JsonNode env = envelope.path("env");
      String configText = envelope.path("config").asText("");
      JsonNode config;
      try {
        config = JSON.readTree(configText);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new CniException(
            CniException.DECODE_FAILURE,
            "the network configuration on stdin is not JSON",
            e.getOriginalMessage());
      }
      if (config == null || !config.isObject()) {
        throw new CniException(
            CniException.DECODE_FAILURE,
            "the network configuration on stdin is not a JSON object",
            "");
      }
      String requested = config.path("cniVersion").asText("");
      if (!VERSIONS.contains(requested)) {
        throw new CniException(
            CniException.INCOMPATIBLE_VERSION,
            "cniVersion \"" + requested + "\" is not supported",
            "supported: " + String.join(", ", VERSIONS.stream().sorted().toList()));
      }
      version = requested;
      command = env.path("CNI_COMMAND").asText("");
      CniRequest r = request(command, env, config, requested);
      LOG.debugf("CNI %s %s %s", command, r.containerId(), r.ifname());
      return switch (command) {
        case "ADD" -> {
          LiveEndpoint live = lifecycle.add(r.pod());
          ObjectNode result = CniResult.of(live.endpoint(), lifecycle.node(), r.cniVersion());
          yield new Answer(0, result + "\n");
        }
        case "DEL" -> {
          lifecycle.del(r.pod());
          yield new Answer(0, "");
        }
        case "CHECK" -> {
          lifecycle
              .check(r.pod())
              .ifPresent(
                  problem -> {
                    throw new CniException(CniException.CHECK_FAILED, problem, "");
                  });
          yield new Answer(0, "");
        }
        case "VERSION" ->
            new Answer(
                0,
                "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]}\n");
        default ->
            throw new CniException(
                CniException.INVALID_ENVIRONMENT,
                "CNI_COMMAND \"" + command + "\" is not ADD, DEL, CHECK or VERSION",
                "");
      };
    } catch (IOException e) {
      return error(
          version, CniException.DECODE_FAILURE, "malformed request from porin-cni", e.getMessage());
    } catch (RuntimeException e) {
      CniException c = CniErrors.of(e, command);
      LOG.infof("CNI error %d: %s %s", c.code(), c.getMessage(), c.details());
      return error(version, c.code(), c.getMessage(), c.details());
    }
  }

  private static CniRequest request(String command, JsonNode env, JsonNode config, String version) {
    String containerId = env.path("CNI_CONTAINERID").asText("");
    String netns = env.path("CNI_NETNS").asText("");
    String ifname = env.path("CNI_IFNAME").asText("");
    List<String> missing = new ArrayList<>();
    if (!"VERSION".equals(command)) {
      if (containerId.isEmpty()) {
        missing.add("CNI_CONTAINERID");
      }
      if (ifname.isEmpty()) {
        missing.add("CNI_IFNAME");
      }
      if (netns.isEmpty() && !"DEL".equals(command)) {
        missing.add("CNI_NETNS");
      }
    }
    if (!missing.isEmpty()) {
      throw new CniException(
          CniException.INVALID_ENVIRONMENT, String.join(", ", missing) + " not set", command);
    }
    if (!"VERSION".equals(command) && !CONTAINER_ID.matcher(containerId).matches()) {
      throw new CniException(
          CniException.INVALID_ENVIRONMENT,
          "CNI_CONTAINERID \"" + printable(containerId) + "\" is not a valid container ID",
          "letters, digits, '_', '.' and '-', starting with a letter or digit, at most 256");
    }
    if (ifname.length() > 15 || ifname.contains("/") || ifname.contains(" ")) {
      throw new CniException(
          CniException.INVALID_ENVIRONMENT,
          "CNI_IFNAME \"" + ifname + "\" is not a valid interface name",
          "at most 15 characters, no '/' or spaces");
    }
    if ("ADD".equals(command) || "CHECK".equals(command)) {
      checkNetns(netns, command);
    }
    Map<String, String> args = new LinkedHashMap<>();
    for (String kv : env.path("CNI_ARGS").asText("").split(";")) {
      int eq = kv.indexOf('=');
      if (eq > 0) {
        args.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    return new CniRequest(command, containerId, netns, ifname, args, config, version);
  }

  /** The pod's namespace must exist and be neither the agent's own nor the host's. */
  private static void checkNetns(String netns, String command) {
    Path path = Path.of(netns);
    if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      throw new CniException(
          CniException.INVALID_ENVIRONMENT, "CNI_NETNS \"" + netns + "\" does not exist", command);
    }
    Object id = namespaceId(path);
    if (id == null) {
      throw new CniException(
          CniException.INVALID_ENVIRONMENT,
          "CNI_NETNS \"" + netns + "\" is not a network namespace the agent can read",
          command);
    }
    for (Path host : HOST_NAMESPACES) {
      if (id.equals(namespaceId(host))) {
        throw new CniException(
            CniException.INVALID_ENVIRONMENT,
            "CNI_NETNS \"" + netns + "\" is the node's own network namespace (" + host + ")",
            "a pod needs a network namespace of its own");
      }
    }
  }

  /** A namespace file's identity: device and inode of the nsfs file it refers to. */
  private static Object namespaceId(Path p) {
    try {
      Map<String, Object> a = Files.readAttributes(p, "unix:dev,ino");
      return a.get("dev") + ":" + a.get("ino");
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return null; // unreadable (e.g. /proc/1 of another user namespace): not comparable
    }
  }

  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(c >= 0x20 && c < 0x7F ? String.valueOf(c) : String.format("\\u%04x", (int) c));
      if (b.length() > 80) {
        return b.append("...").toString();
      }
    }
    return b.toString();
  }

  private static Answer error(String version, int code, String msg, String details) {
    ObjectNode e = JSON.createObjectNode();
    e.put("cniVersion", version).put("code", code).put("msg", msg).put("details", details);
    return new Answer(1, e.toString() + "\n");
  }

  @Override
  public void close() {
    running = false;
    deadlines.shutdownNow();
    try {
      if (server != null) {
        server.close();
      }
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      LOG.debugf(e, "closing the CNI socket");
    }
  }
}
