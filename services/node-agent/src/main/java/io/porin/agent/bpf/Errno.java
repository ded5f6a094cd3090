package io.porin.agent.bpf;

import java.util.Map;

/** Names of the errno values the kernel answers bpf and tc calls with. */
public final class Errno {
  public static final int ENOENT = 2;
  public static final int E2BIG = 7;
  public static final int ENOMEM = 12;
  public static final int EEXIST = 17;
  public static final int EINVAL = 22;
  public static final int ENOSPC = 28;

  private static final Map<Integer, String> NAMES =
      Map.ofEntries(
          Map.entry(1, "EPERM (operation not permitted)"),
          Map.entry(ENOENT, "ENOENT (no such entry)"),
          Map.entry(4, "EINTR (interrupted)"),
          Map.entry(E2BIG, "E2BIG (map is full)"),
          Map.entry(9, "EBADF (bad file descriptor)"),
          Map.entry(ENOMEM, "ENOMEM (out of memory)"),
          Map.entry(13, "EACCES (rejected by the verifier)"),
          Map.entry(16, "EBUSY (busy)"),
          Map.entry(EEXIST, "EEXIST (already exists)"),
          Map.entry(19, "ENODEV (no such device)"),
          Map.entry(EINVAL, "EINVAL (invalid argument)"),
          Map.entry(ENOSPC, "ENOSPC (no space)"),
          Map.entry(95, "EOPNOTSUPP (not supported)"),
          Map.entry(524, "ENOTSUPP (not supported)"));

  private Errno() {}

  /** "ENOENT (no such entry)", or "errno 123". */
  public static String describe(int errno) {
    return NAMES.getOrDefault(errno, "errno " + errno);
  }
}
