package io.porin.identity.join;

import io.porin.kvstore.EtcdAccess;
import io.porin.kvstore.KvStore;
import io.porin.tls.CertificateAuthority;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Gives joined components their users and roles in etcd ({@link EtcdAccess}), as a lab does with
 * {@code etcdctl} when it adds a node. It speaks to etcd as {@code admin/porin-identity}, a
 * certificate it signs for itself with the CA key it holds anyway (so it gains no power it did not
 * have), kept in a private directory of its own and never written elsewhere. On a fresh etcd
 * (access control still off) it admits that user and itself first, then turns access control on.
 */
public final class EtcdAdmissions implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(EtcdAdmissions.class);
  static final PeerIdentity ADMIN = new PeerIdentity(PeerIdentity.Kind.ADMIN, "porin-identity");
  static final Duration ADMIN_VALIDITY = Duration.ofDays(1);

  private final KvStore root;
  private final Path dir;
  private final Set<PeerIdentity> admitted = ConcurrentHashMap.newKeySet();
  private final Set<PeerIdentity> removed = ConcurrentHashMap.newKeySet();
  private final Thread renewals;

  private EtcdAdmissions(KvStore root, Path dir, CertificateAuthority ca, Path bundle) {
    this.root = root;
    this.dir = dir;
    // the admin certificate lives a day and is issued again twice a day (the connection's key
    // manager takes the new file at the next handshake)
    this.renewals =
        Thread.ofVirtual()
            .name("etcd-admissions-renewal")
            .start(
                () -> {
                  while (!Thread.currentThread().isInterrupted()) {
                    try {
                      Thread.sleep(ADMIN_VALIDITY.dividedBy(2));
                      ca.writeBundle(bundle, ca.issue(ADMIN, List.of(), ADMIN_VALIDITY));
                    } catch (InterruptedException e) {
                      return;
                    } catch (RuntimeException e) {
                      LOG.errorf(e, "could not renew the etcd admissions certificate");
                    }
                  }
                });
  }

  /**
   * Connects as the admin and makes sure etcd's access control is on with this service and the
   * admin admitted.
   */
  public static EtcdAdmissions start(
      CertificateAuthority ca, Path caFile, List<String> endpoints, Duration timeout) {
    Path dir;
    try {
      // memory, not disk, where there is a /dev/shm (a container's is its own)
      Path shm = Path.of("/dev/shm");
      var mode = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
      dir =
          Files.isDirectory(shm) && Files.isWritable(shm)
              ? Files.createTempDirectory(shm, "porin-admissions", mode)
              : Files.createTempDirectory("porin-admissions", mode);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path bundle = dir.resolve("admin.pem");
    ca.writeBundle(bundle, ca.issue(ADMIN, List.of(), ADMIN_VALIDITY));
    KvStore root = KvStore.connect(endpoints, timeout, ClusterTls.load(caFile, bundle, bundle));
    EtcdAdmissions a = new EtcdAdmissions(root, dir, ca, bundle);
    a.admit(ADMIN);
    a.admit(PeerIdentity.service("identity"));
    EtcdAccess.enable(root);
    LOG.info("etcd access control on; joined components are admitted as they join");
    return a;
  }

  /** Removes revoked identities' etcd users whenever the deny list changes. */
  public EtcdAdmissions follow(io.porin.service.tls.RevocationWatch watch) {
    watch.onChange(() -> removeRevoked(watch.all().keySet()));
    return this;
  }

  /**
   * A revoked identity loses its etcd user at once (etcd checks only the CA, not the deny list);
   * admitted again, it gets a new one.
   */
  void removeRevoked(java.util.Set<PeerIdentity> revoked) {
    for (PeerIdentity id : revoked) {
      // each once: the deny list only grows, and this runs at each change of it
      if (id.equals(ADMIN) || id.equals(PeerIdentity.service("identity")) || removed.contains(id)) {
        continue;
      }
      try {
        EtcdAccess.remove(root, id);
        removed.add(id);
        admitted.remove(id);
      } catch (RuntimeException e) {
        LOG.warnf("could not remove the etcd user of revoked %s: %s", id, e.getMessage());
      }
    }
  }

  /** Admits {@code id} (once per identity and run; admitting again changes nothing). */
  public void admit(PeerIdentity id) {
    if (admitted.contains(id)) {
      return;
    }
    EtcdAccess.admit(root, id);
    admitted.add(id);
    removed.remove(id); // re-admitted after a revocation: its user exists again
  }

  @Override
  public void close() {
    renewals.interrupt();
    root.close();
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      LOG.debugf("could not remove %s: %s", dir, e.getMessage());
    }
  }
}
