package io.porin.lab;

import io.porin.kvstore.EtcdAccess;
import io.porin.kvstore.KvStore;
import io.porin.tls.CertificateAuthority;
import io.porin.tls.PeerIdentity;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A lab's certificates: its cluster CA ({@code <lab>/ca/}, created once), one bundle per service,
 * node agent and the admin ({@code <lab>/pki/<kind>.<name>.pem}, 0600), and etcd's users and roles
 * for them (through {@code etcdctl} in the control plane's namespace, as root).
 */
public final class LabPki {
  private final Path home;
  private final CertificateAuthority ca;
  private final Duration validity;

  private LabPki(Path home, CertificateAuthority ca, Duration validity) {
    this.home = home;
    this.ca = ca;
    this.validity = validity;
  }

  /** The lab's CA (created at the first call), issuing certificates valid {@code validity}. */
  public static LabPki of(Path home, String lab, Duration validity) {
    return new LabPki(home, CertificateAuthority.init(home.resolve("ca"), "lab " + lab), validity);
  }

  /** The CA certificate every component trusts. */
  public static Path caFile(Path home) {
    return home.resolve("ca").resolve(CertificateAuthority.CERT_FILE);
  }

  /** Where {@code id}'s bundle is. */
  public static Path bundle(Path home, PeerIdentity id) {
    return home.resolve("pki").resolve(id.commonName() + ".pem");
  }

  /** The admin of lab {@code lab}: what its CLI context uses. */
  public static PeerIdentity admin(String lab) {
    return new PeerIdentity(PeerIdentity.Kind.ADMIN, lab);
  }

  /** Issues {@code id} a certificate for {@code addresses} (and 127.0.0.1) into its bundle. */
  public Path issue(PeerIdentity id, List<String> addresses) {
    List<String> sans = new ArrayList<>(addresses);
    sans.add("127.0.0.1");
    sans.add("localhost");
    Path f = bundle(home, id);
    ca.writeBundle(f, ca.issue(id, sans, validity));
    return f;
  }

  /** The JVM settings that make a component {@code id} of this lab. */
  public static List<String> settings(Path home, PeerIdentity id) {
    return List.of("-Dporin.tls.ca=" + caFile(home), "-Dporin.tls.cert=" + bundle(home, id));
  }

  /** etcd's TLS flags: its certificate, client certificates of the lab's CA required. */
  public static List<String> etcdFlags(Path home) {
    String cert = bundle(home, KvStore.ETCD_IDENTITY).toString();
    return List.of(
        "--client-cert-auth",
        "--trusted-ca-file",
        caFile(home).toString(),
        "--cert-file",
        cert,
        "--key-file",
        cert,
        // and between members: a single member here, three in production, the same flags
        "--peer-client-cert-auth",
        "--peer-trusted-ca-file",
        caFile(home).toString(),
        "--peer-cert-file",
        cert,
        "--peer-key-file",
        cert,
        // a member must be etcd, not merely anyone the CA signed
        "--peer-cert-allowed-cn",
        KvStore.ETCD_IDENTITY.commonName());
  }

  /** {@code etcdctl} as the lab's admin, against etcd on the control plane's loopback. */
  public static List<String> etcdctl(Path home, String lab, String endpoint) {
    String admin = bundle(home, admin(lab)).toString();
    return List.of(
        "etcdctl",
        "--endpoints",
        endpoint,
        "--cacert",
        caFile(home).toString(),
        "--cert",
        admin,
        "--key",
        admin);
  }

  /** Turns etcd's access control on and admits {@code ids}: the etcdctl commands to run. */
  public static List<List<String>> etcdAccess(String lab, List<PeerIdentity> ids) {
    List<List<String>> out = new ArrayList<>(EtcdAccess.etcdctlAdmit(admin(lab)));
    for (PeerIdentity id : ids) {
      out.addAll(EtcdAccess.etcdctlAdmit(id));
    }
    out.addAll(EtcdAccess.etcdctlEnable());
    return out;
  }
}
