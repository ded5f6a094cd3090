package io.porin.cli.context;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The context file ({@code ~/.porin/config}, or {@code $PORIN_CONFIG}): named contexts, each saying
 * where one Porin installation's services are, and the current one.
 *
 * <pre>
 * current-context: lab
 * contexts:
 *   lab:
 *     ca: /var/lib/porin/labs/lab/ca/ca.crt
 *     cert: /var/lib/porin/labs/lab/pki/admin.lab.pem
 *     identity: 127.0.0.1:9401
 *     ipam: 127.0.0.1:9402
 *     policy: 127.0.0.1:9403
 *     agent: 127.0.0.1:9404
 *     relay: 127.0.0.1:4245
 * </pre>
 */
public final class Contexts {
  /** The context used when the file names none. */
  public static final String DEFAULT = "default";

  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory())
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .setSerializationInclusion(JsonInclude.Include.NON_NULL);

  /**
   * Where one installation's services are (host:port each; absent ones on their defaults). A lab's
   * context also says which lab it is, the network namespace its control plane is reachable from
   * ({@code porin} enters it, since the lab never adds routes to the root namespace), and every
   * node's agent.
   */
  public record Context(
      @JsonProperty("identity") String identity,
      @JsonProperty("ipam") String ipam,
      @JsonProperty("policy") String policy,
      @JsonProperty("agent") String agent,
      @JsonProperty("relay") String relay,
      @JsonProperty("lab") String lab,
      @JsonProperty("netns") String netns,
      @JsonProperty("nodes") Map<String, String> nodes,
      @JsonProperty("ca") String ca,
      @JsonProperty("cert") String cert,
      @JsonProperty("key") String key,
      @JsonProperty("insecure") Boolean insecure) {
    public Context {
      identity = identity == null ? "127.0.0.1:9401" : identity;
      ipam = ipam == null ? "127.0.0.1:9402" : ipam;
      policy = policy == null ? "127.0.0.1:9403" : policy;
      agent = agent == null ? "127.0.0.1:9404" : agent;
      relay = relay == null ? "127.0.0.1:4245" : relay;
      nodes = nodes == null || nodes.isEmpty() ? null : new TreeMap<>(nodes);
    }

    /** An installation's services (no lab, reachable from here). */
    public Context(String identity, String ipam, String policy, String agent) {
      this(identity, ipam, policy, agent, null, null, null, null, null, null, null, null);
    }

    /** The same services, reached with this certificate ({@code ca}, {@code cert}, {@code key}). */
    public Context withTls(String ca, String cert, String key, boolean insecure) {
      return new Context(
          identity,
          ipam,
          policy,
          agent,
          relay,
          lab,
          netns,
          nodes,
          ca,
          cert,
          key,
          insecure ? Boolean.TRUE : null);
    }

    /** True when the context says to talk plaintext ({@code --insecure}, for development). */
    public boolean isInsecure() {
      return Boolean.TRUE.equals(insecure);
    }

    /** A local installation with every service on its default port. */
    public static Context local() {
      return new Context(null, null, null, null);
    }

    /** Every node's agent: the context's nodes, else its one agent. */
    public Map<String, String> agents() {
      return nodes != null ? nodes : Map.of("", agent);
    }
  }

  /** The file's content. */
  public record File(
      @JsonProperty("current-context") String currentContext,
      @JsonProperty("contexts") Map<String, Context> contexts) {}

  private final Path path;
  private final File file;

  private Contexts(Path path, File file) {
    this.path = path;
    this.file = file;
  }

  /** The file at {@code $PORIN_CONFIG}, else {@code ~/.porin/config}. */
  public static Path defaultPath() {
    String env = io.porin.cli.Env.get("PORIN_CONFIG");
    return env != null && !env.isBlank()
        ? Path.of(env)
        : Path.of(System.getProperty("user.home"), ".porin", "config");
  }

  /**
   * Reads the file; a missing file is an empty one.
   *
   * @throws IllegalArgumentException naming the file when it does not parse
   */
  public static Contexts load(Path path) {
    if (!Files.exists(path)) {
      return new Contexts(path, new File(null, new TreeMap<>()));
    }
    try {
      File f = YAML.readValue(path.toFile(), File.class);
      Map<String, Context> contexts = new TreeMap<>(f.contexts() == null ? Map.of() : f.contexts());
      return new Contexts(path, new File(f.currentContext(), contexts));
    } catch (IOException e) {
      throw new IllegalArgumentException(path + ": not a Porin context file: " + e.getMessage(), e);
    }
  }

  /**
   * The context to use: {@code explicit} (the --context flag), else {@code $PORIN_CONTEXT}, else
   * the file's current context, else {@value #DEFAULT} with every service on its default port.
   *
   * @throws IllegalArgumentException naming the context when the file does not have it
   */
  public Named resolve(Optional<String> explicit) {
    String name =
        explicit
            .or(
                () ->
                    Optional.ofNullable(io.porin.cli.Env.get("PORIN_CONTEXT"))
                        .filter(s -> !s.isBlank()))
            .or(() -> Optional.ofNullable(file.currentContext()))
            .orElse(DEFAULT);
    Context c = file.contexts().get(name);
    if (c == null) {
      if (name.equals(DEFAULT)) {
        return new Named(DEFAULT, Context.local());
      }
      throw unknown(name);
    }
    return new Named(name, c);
  }

  /** A context and its name. */
  public record Named(String name, Context context) {}

  /** Every context, by name. */
  public Map<String, Context> all() {
    return file.contexts();
  }

  /** The current context's name, if the file names one. */
  public Optional<String> current() {
    return Optional.ofNullable(file.currentContext());
  }

  /** Adds or replaces a context, optionally making it current, and writes the file. */
  public Contexts with(String name, Context context, boolean makeCurrent) throws IOException {
    Map<String, Context> contexts = new TreeMap<>(file.contexts());
    contexts.put(name, context);
    Contexts updated =
        new Contexts(path, new File(makeCurrent ? name : file.currentContext(), contexts));
    updated.write();
    return updated;
  }

  /** Removes a context (and, if it was current, the current context) and writes the file. */
  public Contexts without(String name) throws IOException {
    Map<String, Context> contexts = new TreeMap<>(file.contexts());
    contexts.remove(name);
    String current = name.equals(file.currentContext()) ? null : file.currentContext();
    Contexts updated = new Contexts(path, new File(current, contexts));
    updated.write();
    return updated;
  }

  /** Makes an existing context current and writes the file. */
  public Contexts use(String name) throws IOException {
    if (!file.contexts().containsKey(name)) {
      throw unknown(name);
    }
    Contexts updated = new Contexts(path, new File(name, file.contexts()));
    updated.write();
    return updated;
  }

  private IllegalArgumentException unknown(String name) {
    return new IllegalArgumentException(
        "context \""
            + name
            + "\" is not in "
            + path
            + " (it has: "
            + file.contexts().keySet()
            + ")");
  }

  private void write() throws IOException {
    if (path.getParent() != null) {
      Files.createDirectories(path.getParent());
    }
    Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
    YAML.writeValue(tmp.toFile(), file);
    Files.move(
        tmp,
        path,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }
}
