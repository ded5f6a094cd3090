package io.porin.agent.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.porin.agent.endpoint.CniException;
import io.porin.agent.endpoint.CniRequest;
import io.porin.agent.endpoint.EndpointManager;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * The agent's side of the CNI plugin: a unix socket taking one call per connection (the plugin's
 * environment and stdin as JSON) and answering "exit code, newline, output". Validation happens
 * here, so every malformed call gets the CNI error JSON naming what is wrong.
 */
public final class CniServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(CniServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final Set<String> VERSIONS = Set.of("0.3.0", "0.3.1", "0.4.0", "1.0.0");

  private final Path socket;
  private final EndpointManager endpoints;
  private ServerSocketChannel server;
  private Thread acceptor;
  private volatile boolean running = true;

  public CniServer(Path socket, EndpointManager endpoints) {
    this.socket = socket;
    this.endpoints = endpoints;
  }

  public void start() throws IOException {
    Files.createDirectories(socket.getParent());
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    acceptor = Thread.ofPlatform().name("porin-cni-accept").daemon().start(this::accept);
    LOG.infof("CNI requests on %s", socket);
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
    try (c;
        InputStream in = Channels.newInputStream(c);
        OutputStream out = Channels.newOutputStream(c)) {
      String request = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      Answer a = handle(request);
      out.write((a.exitCode() + "\n" + a.output()).getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      LOG.warnf("CNI connection: %s", e.getMessage());
    }
  }

  /** What the plugin prints and its exit code. */
  public record Answer(int exitCode, String output) {}

  /** Handles one forwarded call (public for tests that skip the socket). */
  public Answer handle(String request) {
    String version = "1.0.0";
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
      String command = env.path("CNI_COMMAND").asText("");
      CniRequest r = request(command, env, config, requested);
      LOG.debugf("CNI %s %s %s", command, r.containerId(), r.ifname());
      return switch (command) {
        case "ADD" -> new Answer(0, endpoints.add(r).toString() + "\n");
        case "DEL" -> {
          endpoints.del(r);
          yield new Answer(0, "");
        }
        case "CHECK" -> {
          endpoints.check(r);
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
    } catch (CniException e) {
      LOG.infof("CNI error %d: %s %s", e.code(), e.getMessage(), e.details());
      return error(version, e.code(), e.getMessage(), e.details());
    } catch (IOException e) {
      return error(
          version, CniException.DECODE_FAILURE, "malformed request from porin-cni", e.getMessage());
    } catch (RuntimeException e) {
      LOG.errorf(e, "CNI request failed");
      return error(version, CniException.INTERNAL, String.valueOf(e.getMessage()), "");
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
    if (ifname.length() > 15 || ifname.contains("/") || ifname.contains(" ")) {
      throw new CniException(
          CniException.INVALID_ENVIRONMENT,
          "CNI_IFNAME \"" + ifname + "\" is not a valid interface name",
          "at most 15 characters, no '/' or spaces");
    }
    if ("ADD".equals(command) || "CHECK".equals(command)) {
      if (!Files.exists(Path.of(netns))) {
        throw new CniException(
            CniException.INVALID_ENVIRONMENT,
            "CNI_NETNS \"" + netns + "\" does not exist",
            command);
      }
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

  private static Answer error(String version, int code, String msg, String details) {
    ObjectNode e = JSON.createObjectNode();
    e.put("cniVersion", version).put("code", code).put("msg", msg).put("details", details);
    return new Answer(1, e.toString() + "\n");
  }

  @Override
  public void close() {
    running = false;
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
