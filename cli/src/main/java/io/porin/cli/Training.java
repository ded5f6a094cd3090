package io.porin.cli;

import io.grpc.Server;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContextBuilder;
import io.porin.cli.context.ContextTls;
import io.porin.cli.context.Contexts;
import io.porin.tls.CertificateAuthority;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine;

/**
 * The build's training run for the CLI's ahead-of-time cache ({@code target/porin-cli.aot}, made
 * with {@code -XX:AOTCacheOutput}): what a command loads and links is what this run loads and
 * links, so the commands users run most start with their classes ready.
 *
 * <p>It runs those commands, in this JVM, against a mutual-TLS gRPC server it starts on loopback
 * with a CA of its own. The server implements no service: every call is answered UNIMPLEMENTED,
 * after the same handshake, HTTP/2 and gRPC path a real answer takes. {@code $PORIN_CONFIG} must
 * name a file this run may write (the build gives one under {@code target/}).
 */
public final class Training {
  private Training() {}

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("porin-cli-training");
    Server server = null;
    try {
      CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "training");
      Path caFile = dir.resolve("ca/" + CertificateAuthority.CERT_FILE);
      Path serverBundle = dir.resolve("server.pem");
      Path adminBundle = dir.resolve("admin.pem");
      ca.writeBundle(
          serverBundle,
          ca.issue(PeerIdentity.service("identity"), List.of("127.0.0.1"), Duration.ofHours(1)));
      ca.writeBundle(
          adminBundle,
          ca.issue(
              new PeerIdentity(PeerIdentity.Kind.ADMIN, "training"),
              List.of(),
              Duration.ofHours(1)));
      ClusterTls serverTls = ClusterTls.load(caFile, serverBundle, serverBundle);
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
              .sslContext(
                  GrpcSslContexts.configure(SslContextBuilder.forServer(serverTls.keyManager()))
                      .trustManager(serverTls.clientTrust(ClusterTls.anyone(), "anyone"))
                      .clientAuth(ClientAuth.REQUIRE)
                      .build())
              .build()
              .start();
      String at = "127.0.0.1:" + server.getPort();
      Path config = Contexts.defaultPath();
      Files.deleteIfExists(config);
      Contexts.load(config)
          .with(
              "training",
              new Contexts.Context(at, at, at, at, at, null, null, null, null, null, null, null)
                  .withTls(caFile.toString(), adminBundle.toString(), null, false),
              true);
      for (List<String> command : COMMANDS) {
        run(command.toArray(String[]::new));
      }
      run(new String[] {"--help"});
      CommandLine all = Main.commandLine(new String[0]);
      for (var sub : all.getSubcommands().values()) {
        sub.getUsageMessage();
        for (var subsub : sub.getSubcommands().values()) {
          subsub.getUsageMessage();
        }
      }
    } finally {
      ContextTls.shutdown();
      if (server != null) {
        server.shutdownNow();
      }
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** The commands of the CLI benchmark (bench/cli.sh) and their kin, table and JSON. */
  private static final List<List<String>> COMMANDS =
      List.of(
          List.of("identity", "list"),
          List.of("identity", "list", "-o", "json"),
          List.of("status"),
          List.of("status", "-o", "json"),
          List.of("get", "pods"),
          List.of("get", "pods", "-o", "json"),
          List.of("observe", "--last", "20"),
          List.of("observe", "--last", "20", "-o", "json"),
          List.of(
              "policy",
              "trace",
              "--from-pod",
              "default/a",
              "--to-pod",
              "default/b",
              "--port",
              "80"),
          List.of("endpoint", "list"),
          List.of("lab", "list"));

  private static void run(String[] args) {
    PrintWriter nowhere = new PrintWriter(Writer.nullWriter());
    Main.commandLine(args).setOut(nowhere).setErr(nowhere).execute(args);
  }
}
