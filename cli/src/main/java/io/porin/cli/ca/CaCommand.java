package io.porin.cli.ca;

import io.porin.api.ca.v1.CertificatesGrpc;
import io.porin.api.ca.v1.ListRevokedRequest;
import io.porin.api.ca.v1.Revocation;
import io.porin.api.ca.v1.RevokeRequest;
import io.porin.api.ca.v1.RevokeResponse;
import io.porin.cli.Durations;
import io.porin.cli.GlobalOptions;
import io.porin.cli.Main;
import io.porin.cli.ServiceCall;
import io.porin.cli.context.Contexts;
import io.porin.cli.output.Output;
import io.porin.cli.output.OutputFormat;
import io.porin.cli.output.Table;
import io.porin.kvstore.EtcdAccess;
import io.porin.lab.Host;
import io.porin.lab.LabPki;
import io.porin.tls.CertificateAuthority;
import io.porin.tls.PeerIdentity;
import io.porin.tls.TlsException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code porin ca}: the cluster CA, its certificates and its deny list. */
@Command(
    name = "ca",
    description = "The cluster CA: create it, issue certificates, revoke them.",
    subcommands = {
      CaCommand.Init.class,
      CaCommand.Issue.class,
      CaCommand.Revoke.class,
      CaCommand.Revoked.class,
      CaCommand.Readmit.class,
      CaCommand.Kubernetes.class
    })
public class CaCommand {

  @Command(
      name = "init",
      description = {
        "Create the cluster CA in a directory (ca.crt, ca.key 0600) unless one is there.",
        "Keep the directory with the control plane's state: never in etcd. porin lab up",
        "does this for a lab."
      })
  static class Init implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--dir", required = true, description = "The CA's directory")
    Path dir;

    @Option(names = "--cluster", description = "The cluster's name, in the CA's subject")
    String cluster = "default";

    @Override
    public Integer call() {
      try {
        CertificateAuthority ca = CertificateAuthority.init(dir, cluster);
        var c = ca.certificate();
        Output.print(
            spec.commandLine().getOut(),
            GlobalOptions.of(spec).output(),
            () ->
                Map.of(
                    "dir", dir.toAbsolutePath().toString(),
                    "subject", c.getSubjectX500Principal().getName(),
                    "notAfter", c.getNotAfter().toInstant().toString()),
            () -> "CA " + c.getSubjectX500Principal().getName() + " in " + dir.toAbsolutePath());
        return 0;
      } catch (TlsException e) {
        spec.commandLine().getErr().println("porin: " + e.getMessage());
        return 1;
      }
    }
  }

  /** Whose certificates: {@code --node NODE} (the global option), or {@code --kind --name}. */
  static class Target {
    @Option(names = "--kind", description = "Or: svc, node, admin, reader (with --name)")
    String kind;

    @Option(names = "--name", description = "The identity's name (with --kind)")
    String name;

    /** The kind and name given (bad input: an IllegalArgumentException, reported as such). */
    Named resolve(CommandSpec spec) {
      String node = GlobalOptions.of(spec).node().orElse(null);
      String k = node != null ? "node" : kind;
      String n = node != null ? node : name;
      if (k == null || n == null || (node != null && (kind != null || name != null))) {
        throw new IllegalArgumentException("give --node NODE, or --kind KIND --name NAME");
      }
      return new Named(k, n);
    }

    record Named(String kind, String name) {}
  }

  @Command(
      name = "readmit",
      description = {
        "Let a revoked node (or another identity) join again: in Kubernetes its pods' tokens",
        "get it a first certificate again. Certificates issued before the revocation stay",
        "refused."
      })
  static class Readmit implements Callable<Integer> {
    @Spec CommandSpec spec;

    @picocli.CommandLine.Mixin Target target;

    @Override
    public Integer call() {
      Target.Named t = target.resolve(spec);
      String k = t.kind();
      String n = t.name();
      return ServiceCall.run(
          spec,
          ServiceCall.Service.IDENTITY,
          CertificatesGrpc::newBlockingStub,
          stub -> {
            var r =
                stub.readmit(
                    io.porin.api.ca.v1.ReadmitRequest.newBuilder().setKind(k).setName(n).build());
            Output.print(
                spec.commandLine().getOut(),
                GlobalOptions.of(spec).output(),
                () -> Map.of("kind", k, "name", n, "readmittedAt", r.getReadmittedAt()),
                () ->
                    k
                        + "/"
                        + n
                        + " may join again from "
                        + r.getReadmittedAt()
                        + " (certificates issued before its revocation stay refused)");
            return 0;
          });
    }
  }

  @Command(
      name = "kubernetes",
      description = {
        "Print what a Kubernetes installation needs of the CA, as a manifest for",
        "kubectl apply -f -: ConfigMap porin-ca (the CA certificate, which every component",
        "trusts), Secret porin-ca-key (the CA key, for the identity service only) and Secret",
        "porin-etcd-tls (etcd's certificate). Creates the CA in --dir unless one is there; keep",
        "that directory (porin ca issue --kind admin makes your own certificate from it)."
      })
  static class Kubernetes implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--dir", required = true, description = "The CA's directory")
    Path dir;

    @Option(names = "--cluster", description = "The cluster's name, in a new CA's subject")
    String cluster = "default";

    @Option(names = "--namespace", description = "Porin's namespace (default porin-system)")
    String namespace = "porin-system";

    @Option(
        names = "--etcd-address",
        description = "An address or DNS name clients reach etcd at, besides its members' names")
    List<String> etcdAddresses = new ArrayList<>();

    @Option(names = "--etcd-validity", description = "How long etcd's certificate lives")
    String etcdValidity = "8760h";

    @Override
    public Integer call() {
      PrintWriter err = spec.commandLine().getErr();
      try {
        Duration validity = Durations.parse("--etcd-validity", etcdValidity);
        CertificateAuthority ca = CertificateAuthority.init(dir, cluster);
        List<String> names = new ArrayList<>(etcdAddresses);
        names.addAll(
            List.of(
                "*.porin-etcd." + namespace + ".svc",
                "*.porin-etcd." + namespace + ".svc.cluster.local",
                "localhost",
                "127.0.0.1"));
        var etcd = ca.issue(io.porin.kvstore.KvStore.ETCD_IDENTITY, names, validity);
        String caPem = io.porin.tls.Pem.encode(List.of(ca.certificate()), null);
        String caKey = java.nio.file.Files.readString(dir.resolve(CertificateAuthority.KEY_FILE));
        String etcdBundle =
            io.porin.tls.Pem.encode(List.of(etcd.certificate(), ca.certificate()), etcd.key());
        List<Object> items =
            List.of(
                object("ConfigMap", "porin-ca", "data", Map.of("ca.crt", caPem)),
                object(
                    "Secret",
                    "porin-ca-key",
                    "stringData",
                    Map.of("ca.crt", caPem, "ca.key", caKey)),
                object("Secret", "porin-etcd-tls", "stringData", Map.of("tls.pem", etcdBundle)));
        Output.json(
            spec.commandLine().getOut(),
            Map.of("apiVersion", "v1", "kind", "List", "items", items));
        err.println(
            "porin: the CA of "
                + dir.toAbsolutePath()
                + " and etcd's certificate (until "
                + etcd.certificate().getNotAfter().toInstant()
                + "), for kubectl apply -f -");
        return 0;
      } catch (IllegalArgumentException | TlsException e) {
        err.println("porin: " + e.getMessage());
        return Main.BAD_INPUT;
      } catch (java.io.IOException e) {
        err.println("porin: cannot read the CA key: " + e.getMessage());
        return 1;
      }
    }

    private Map<String, Object> object(
        String kind, String name, String dataField, Map<String, String> data) {
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("apiVersion", "v1");
      o.put("kind", kind);
      o.put(
          "metadata",
          Map.of(
              "name",
              name,
              "namespace",
              namespace,
              "labels",
              Map.of("app.kubernetes.io/part-of", "porin")));
      if (kind.equals("Secret")) {
        o.put("type", "Opaque");
      }
      o.put(dataField, data);
      return o;
    }
  }

  @Command(
      name = "issue",
      description = {
        "Issue a certificate with a new key into one bundle file (0600): for a service",
        "(svc), a node agent (node), an operator (admin) or a dashboard (reader)."
      })
  static class Issue implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--dir", required = true, description = "The CA's directory")
    Path dir;

    @Option(names = "--kind", required = true, description = "svc, node, admin or reader")
    String kind;

    @Option(names = "--name", required = true, description = "The holder's name")
    String name;

    @Option(
        names = "--address",
        description = "An IP address or DNS name the holder serves on (repeatable)")
    List<String> addresses = new ArrayList<>();

    @Option(names = "--validity", description = "How long it lives (default 24h)")
    String validity = "24h";

    @Option(names = "--out", required = true, description = "The bundle to write")
    Path out;

    @Override
    public Integer call() {
      PrintWriter err = spec.commandLine().getErr();
      var k = PeerIdentity.Kind.ofLabel(kind);
      if (k.isEmpty()) {
        err.println("porin: --kind: \"" + kind + "\" is not svc, node, admin or reader");
        return Main.BAD_INPUT;
      }
      try {
        PeerIdentity id = new PeerIdentity(k.get(), name);
        Duration d = Durations.parse("--validity", validity);
        CertificateAuthority ca = CertificateAuthority.load(dir);
        var issued = ca.issue(id, addresses, d);
        ca.writeBundle(out, issued);
        Output.print(
            spec.commandLine().getOut(),
            GlobalOptions.of(spec).output(),
            () ->
                Map.of(
                    "identity", id.uri(),
                    "bundle", out.toAbsolutePath().toString(),
                    "notAfter", issued.certificate().getNotAfter().toInstant().toString()),
            () ->
                "issued "
                    + id
                    + " into "
                    + out.toAbsolutePath()
                    + " (valid until "
                    + issued.certificate().getNotAfter().toInstant()
                    + ")");
        return 0;
      } catch (IllegalArgumentException | TlsException e) {
        err.println("porin: " + e.getMessage());
        return Main.BAD_INPUT;
      }
    }
  }

  @Command(
      name = "revoke",
      description = {
        "Revoke every certificate issued to a node (or another identity) until now: its",
        "handshakes and calls are refused, its open streams end, and what it publishes is",
        "ignored; its datapath keeps enforcing what it has. A certificate issued afterwards",
        "is valid again."
      })
  static class Revoke implements Callable<Integer> {
    @Spec CommandSpec spec;

    @picocli.CommandLine.Mixin Target target;

    @Override
    public Integer call() {
      Target.Named t = target.resolve(spec);
      String k = t.kind();
      String n = t.name();
      Contexts.Named ctx = GlobalOptions.of(spec).context();
      return ServiceCall.run(
          spec,
          ServiceCall.Service.IDENTITY,
          CertificatesGrpc::newBlockingStub,
          stub -> {
            // etcd first: from this moment the holder writes nothing there
            String etcd = removeEtcdUser(ctx, k, n);
            RevokeResponse r =
                stub.revoke(RevokeRequest.newBuilder().setKind(k).setName(n).build());
            Output.print(
                spec.commandLine().getOut(),
                GlobalOptions.of(spec).output(),
                () -> Map.of("kind", k, "name", n, "revokedAt", r.getRevokedAt(), "etcd", etcd),
                () ->
                    "revoked the certificates of "
                        + k
                        + "/"
                        + n
                        + " issued until "
                        + r.getRevokedAt()
                        + "; etcd: "
                        + etcd);
            return 0;
          });
    }

    /**
     * etcd checks certificates against its CA only: the revoked holder's etcd user is removed so
     * that etcd refuses it too. Done here for a lab (its admin is etcd's root); elsewhere the
     * operator runs the command this prints.
     */
    private static String removeEtcdUser(Contexts.Named ctx, String kind, String name) {
      PeerIdentity id = new PeerIdentity(PeerIdentity.Kind.ofLabel(kind).orElseThrow(), name);
      String lab = ctx.context().lab();
      if (lab == null) {
        return "remove its user with: etcdctl user delete " + id.commonName();
      }
      Path home = io.porin.cli.Env.labDirectory().of(lab);
      List<String> argv = new ArrayList<>(LabPki.etcdctl(home, lab, "https://127.0.0.1:2379"));
      argv.addAll(List.of("user", "delete", id.commonName()));
      Host.Result r = Host.run(argv, Map.of(), null, 30);
      if (!r.ok() && !r.output().contains("not found")) {
        return "could not remove user " + id.commonName() + ": " + r.output().strip();
      }
      if (!EtcdAccess.grantsOf(id).isEmpty()) {
        List<String> role = new ArrayList<>(LabPki.etcdctl(home, lab, "https://127.0.0.1:2379"));
        role.addAll(List.of("role", "delete", EtcdAccess.roleOf(id)));
        Host.run(role, Map.of(), null, 30);
      }
      return "user " + id.commonName() + " removed";
    }
  }

  @Command(name = "revoked", description = "The deny list: revoked identities, when, by whom.")
  static class Revoked implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return ServiceCall.run(
          spec,
          ServiceCall.Service.IDENTITY,
          CertificatesGrpc::newBlockingStub,
          stub -> {
            List<Revocation> all =
                stub.listRevoked(ListRevokedRequest.getDefaultInstance()).getRevocationsList();
            PrintWriter out = spec.commandLine().getOut();
            if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
              List<Map<String, String>> j = new ArrayList<>();
              for (Revocation r : all) {
                Map<String, String> m = new LinkedHashMap<>();
                m.put("kind", r.getKind());
                m.put("name", r.getName());
                m.put("revokedAt", r.getRevokedAt());
                m.put("by", r.getBy());
                j.add(m);
              }
              Output.json(out, j);
            } else {
              Table t = new Table("IDENTITY", "REVOKED AT", "BY");
              for (Revocation r : all) {
                t.row(r.getKind() + "/" + r.getName(), r.getRevokedAt(), r.getBy());
              }
              t.print(out);
            }
            return 0;
          });
    }
  }
}
