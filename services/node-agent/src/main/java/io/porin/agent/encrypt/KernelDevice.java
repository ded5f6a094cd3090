package io.porin.agent.encrypt;

import io.porin.agent.net.Command;
import io.porin.core.ipam.Cidr;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * WireGuard in the kernel: the interface from {@code ip link add ... type wireguard}, configured
 * with {@code wg} (netlink). Only where the module exists; {@link #create} says when it does not.
 */
public final class KernelDevice implements WireGuardDevice {
  private final String name;
  private final BiFunction<List<String>, String, Command.Result> wg;

  /**
   * @param wg runs {@code wg} with these arguments and this input (the real tool, or in tests the
   *     tool pointed at a userspace device)
   */
  KernelDevice(String name, BiFunction<List<String>, String, Command.Result> wg) {
    this.name = name;
    this.wg = wg;
  }

  /** The kernel device (created, or the one already there), or empty when there is no module. */
  public static Optional<KernelDevice> create(String name) {
    Command.Result existing = Command.run(List.of("ip", "-d", "link", "show", "dev", name));
    if (existing.ok() && existing.output().contains("tun type tun")) {
      return Optional.empty(); // wireguard-go's TUN device: the userspace path adopts it
    }
    if (existing.ok() && !existing.output().contains("wireguard")) {
      throw new IllegalStateException(
          name + " exists and is not a WireGuard device: " + existing.output().strip());
    }
    if (!existing.ok()) {
      Command.Result r =
          Command.run(List.of("ip", "link", "add", "dev", name, "type", "wireguard"));
      if (!r.ok()) {
        if (r.output().contains("Unknown device type")
            || r.output().contains("not supported")
            || r.output().contains("Not supported")) {
          return Optional.empty();
        }
        throw new IllegalStateException("ip link add " + name + " type wireguard: " + r.output());
      }
    }
    return Optional.of(
        new KernelDevice(
            name,
            (args, in) -> {
              List<String> argv = new ArrayList<>(List.of("wg"));
              argv.addAll(args);
              return Command.run(argv, in);
            }));
  }

  @Override
  public String mode() {
    return "kernel";
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void configure(WireGuardKeys keys, int listenPort) {
    // the private key through stdin: never on a command line or in a file of its own
    run(
        List.of(
            "set", name, "listen-port", Integer.toString(listenPort), "private-key", "/dev/stdin"),
        keys.privateBase64() + "\n");
  }

  @Override
  public void update(Collection<String> remove, Collection<Peer> set) {
    if (remove.isEmpty() && set.isEmpty()) {
      return;
    }
    run(arguments(name, remove, set), null);
  }

  /** The one {@code wg set} of a change: removals, then each peer in full. */
  static List<String> arguments(String name, Collection<String> remove, Collection<Peer> set) {
    List<String> args = new ArrayList<>(List.of("set", name));
    for (String key : remove) {
      args.addAll(List.of("peer", key, "remove"));
    }
    for (Peer p : set) {
      args.addAll(List.of("peer", p.publicKey()));
      if (p.endpoint() != null) {
        args.addAll(List.of("endpoint", Uapi.endpoint(p.endpoint())));
      }
      args.addAll(
          List.of("persistent-keepalive", Integer.toString(WireGuardDevice.KEEPALIVE_SECONDS)));
      // "allowed-ips" replaces the peer's list; an empty value clears it
      args.addAll(
          List.of(
              "allowed-ips",
              String.join(",", p.allowedIps().stream().map(Cidr::toString).toList())));
    }
    return args;
  }

  @Override
  public Status status() {
    return parseDump(run(List.of("show", name, "dump"), null));
  }

  /**
   * {@code wg show <dev> dump}: the interface line (private key, public key, port, fwmark), then
   * one line per peer (public key, preshared key, endpoint, allowed IPs, latest handshake, rx, tx,
   * keepalive), tab-separated.
   */
  static Status parseDump(String dump) {
    String[] lines = dump.strip().split("\n");
    String[] head = lines[0].split("\t");
    List<PeerStatus> peers = new ArrayList<>();
    for (int i = 1; i < lines.length; i++) {
      String[] f = lines[i].split("\t");
      if (f.length < 8) {
        continue;
      }
      List<String> allowed = f[3].equals("(none)") ? List.of() : Arrays.asList(f[3].split(","));
      peers.add(
          new PeerStatus(
              f[0],
              f[2].equals("(none)") ? "" : f[2],
              allowed,
              Long.parseLong(f[4]),
              Long.parseLong(f[5]),
              Long.parseLong(f[6])));
    }
    return new Status(head[1], Integer.parseInt(head[2]), peers);
  }

  @Override
  public void destroy() {
    Command.run(List.of("ip", "link", "del", "dev", name));
  }

  /** The kernel device stays, carrying traffic. */
  @Override
  public void close() {}

  private String run(List<String> args, String stdin) {
    Command.Result r = wg.apply(args, stdin);
    if (!r.ok()) {
      throw new IllegalStateException("wg " + String.join(" ", args) + ": " + r.output());
    }
    return r.output();
  }
}
