package io.porin.kvstore;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.auth.Permission;
import io.porin.tls.PeerIdentity;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * etcd's role-based access for the cluster's certificates. etcd takes a client certificate's CN
 * ({@code <kind>.<name>}) as its user; each user gets the roles below, and nothing else:
 *
 * <ul>
 *   <li>every identity reads {@code /porin/v1/};
 *   <li>a service writes its own prefixes only (the identity service: identities and the CA's deny
 *       list; IPAM: ipam; policy: resources, services, service IPs and node ports, policy);
 *   <li>a node writes its own node record and its own endpoints ({@code endpoints/<node>/});
 *   <li>an admin has etcd's root role; a reader reads.
 * </ul>
 *
 * Applied with a root client (the admin's certificate) by {@code porin lab up} and {@code porin ca
 * issue}; every step is idempotent.
 */
public final class EtcdAccess {
  private EtcdAccess() {}

  /** Read access to everything of Porin's, for every identity. */
  public static final String READ_ROLE = "porin-read";

  /** One permission: a key or a prefix, read or read-write. */
  public record Grant(String key, boolean prefix, boolean write) {
    @Override
    public String toString() {
      return (write ? "readwrite " : "read ") + key + (prefix ? "*" : "");
    }
  }

  /** What {@code id} may do in etcd, besides reading everything. */
  public static List<Grant> grantsOf(PeerIdentity id) {
    String r = Keys.ROOT;
    return switch (id.kind()) {
      case SERVICE ->
          switch (id.name()) {
            case "identity" ->
                List.of(
                    rw(Keys.Identities.PREFIX),
                    rw(Keys.Revocations.PREFIX),
                    rw(Keys.Joins.PREFIX),
                    rw(Keys.Readmissions.PREFIX),
                    rw(Keys.Audit.ofService("identity")));
            case "ipam" -> List.of(rw(Keys.Ipam.PREFIX));
            case "clustermesh" -> List.of(rw(Keys.Mesh.PREFIX));
            case "policy" ->
                List.of(
                    rw(Keys.Resources.PREFIX),
                    rw(Keys.Services.PREFIX),
                    rw(Keys.Services.IPS_PREFIX),
                    rw(Keys.Services.NODE_PORTS_PREFIX),
                    rw(r + "policy/"),
                    // its own records, and trimming everyone's past the retention
                    rw(Keys.Audit.PREFIX));
            default -> List.of();
          };
      case NODE ->
          List.of(
              new Grant(Keys.Nodes.node(id.name()), false, true),
              rw(Keys.Endpoints.ofNode(id.name())));
      case ADMIN, READER -> List.of();
    };
  }

  private static Grant rw(String prefix) {
    return new Grant(prefix, true, true);
  }

  /** The role holding {@code id}'s own grants. */
  public static String roleOf(PeerIdentity id) {
    return "porin-" + id.kind().label() + "-" + id.name();
  }

  /**
   * Turns etcd's access control on: a {@code root} user (etcd requires one; its password is random
   * and never used) and the read role. Run once, before any identity is admitted.
   */
  public static void enable(KvStore root) {
    var auth = root.client().getAuthClient();
    ensureReadRole(auth);
    ignoreExisting(auth.userAdd(bytes("root"), bytes(randomPassword())));
    ignoreExisting(auth.userGrantRole(bytes("root"), bytes("root")));
    await(auth.authEnable());
  }

  /** Gives {@code id}'s certificate its user and roles in etcd. */
  public static void admit(KvStore root, PeerIdentity id) {
    var auth = root.client().getAuthClient();
    ByteSequence user = bytes(id.commonName());
    ignoreExisting(auth.userAdd(user, bytes(randomPassword())));
    if (id.kind() == PeerIdentity.Kind.ADMIN) {
      await(auth.userGrantRole(user, bytes("root")));
      return;
    }
    ensureReadRole(auth);
    await(auth.userGrantRole(user, bytes(READ_ROLE)));
    List<Grant> grants = grantsOf(id);
    if (grants.isEmpty()) {
      return;
    }
    ByteSequence role = bytes(roleOf(id));
    ignoreExisting(auth.roleAdd(role));
    for (Grant g : grants) {
      await(
          auth.roleGrantPermission(
              role,
              bytes(g.key()),
              g.prefix() ? prefixEnd(g.key()) : ByteSequence.EMPTY,
              g.write() ? Permission.Type.READWRITE : Permission.Type.READ));
    }
    await(auth.userGrantRole(user, role));
  }

  private static void ensureReadRole(io.etcd.jetcd.Auth auth) {
    ignoreExisting(auth.roleAdd(bytes(READ_ROLE)));
    await(
        auth.roleGrantPermission(
            bytes(READ_ROLE), bytes(Keys.ROOT), prefixEnd(Keys.ROOT), Permission.Type.READ));
  }

  /** Removes {@code id}'s user: etcd refuses its requests from then on, on open connections too. */
  public static void remove(KvStore root, PeerIdentity id) {
    var auth = root.client().getAuthClient();
    ignoreMissing(auth.userDelete(bytes(id.commonName())));
    ignoreMissing(auth.roleDelete(bytes(roleOf(id))));
  }

  /**
   * The same as {@link #enable}, as {@code etcdctl} argument lists (for a control plane reached
   * only through a shell in its namespace, as the lab's). Each must succeed, except "already
   * exists" answers.
   */
  public static List<List<String>> etcdctlEnable() {
    List<List<String>> out = new ArrayList<>(etcdctlReadRole());
    out.add(List.of("user", "add", "root", "--no-password"));
    out.add(List.of("user", "grant-role", "root", "root"));
    out.add(List.of("auth", "enable"));
    return out;
  }

  /** The same as {@link #admit}, as {@code etcdctl} argument lists. */
  public static List<List<String>> etcdctlAdmit(PeerIdentity id) {
    String user = id.commonName();
    List<List<String>> out = new ArrayList<>();
    out.add(List.of("user", "add", user, "--no-password"));
    if (id.kind() == PeerIdentity.Kind.ADMIN) {
      out.add(List.of("user", "grant-role", user, "root"));
      return out;
    }
    out.addAll(etcdctlReadRole());
    out.add(List.of("user", "grant-role", user, READ_ROLE));
    List<Grant> grants = grantsOf(id);
    if (!grants.isEmpty()) {
      String role = roleOf(id);
      out.add(List.of("role", "add", role));
      for (Grant g : grants) {
        List<String> cmd =
            new ArrayList<>(
                List.of(
                    "role", "grant-permission", role, g.write() ? "readwrite" : "read", g.key()));
        if (g.prefix()) {
          cmd.add("--prefix=true");
        }
        out.add(cmd);
      }
      out.add(List.of("user", "grant-role", user, role));
    }
    return out;
  }

  private static List<List<String>> etcdctlReadRole() {
    return List.of(
        List.of("role", "add", READ_ROLE),
        List.of("role", "grant-permission", READ_ROLE, "read", Keys.ROOT, "--prefix=true"));
  }

  /** The users etcd knows. */
  public static List<String> users(KvStore root) {
    List<String> out = new ArrayList<>();
    for (String u : await(root.client().getAuthClient().userList()).getUsers()) {
      out.add(u);
    }
    return out;
  }

  private static ByteSequence prefixEnd(String prefix) {
    byte[] b = prefix.getBytes(StandardCharsets.UTF_8);
    byte[] end = Arrays.copyOf(b, b.length);
    end[end.length - 1]++;
    return ByteSequence.from(end);
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  private static String randomPassword() {
    byte[] b = new byte[24];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static <T> T await(CompletableFuture<T> f) {
    try {
      return f.get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new KvStoreException(
          KvStoreException.Kind.OTHER, "etcd access control: " + e.getCause().getMessage(), e);
    } catch (TimeoutException e) {
      throw new KvStoreException(
          KvStoreException.Kind.UNAVAILABLE, "etcd access control: no answer in 10 s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KvStoreException(KvStoreException.Kind.UNAVAILABLE, "interrupted", e);
    }
  }

  private static void ignoreExisting(CompletableFuture<?> f) {
    try {
      await(f);
    } catch (KvStoreException e) {
      if (!e.getMessage().contains("already exists") && !e.getMessage().contains("already")) {
        throw e;
      }
    }
  }

  private static void ignoreMissing(CompletableFuture<?> f) {
    try {
      await(f);
    } catch (KvStoreException e) {
      if (!e.getMessage().contains("not found")) {
        throw e;
      }
    }
  }
}
