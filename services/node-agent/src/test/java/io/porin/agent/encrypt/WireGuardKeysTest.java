package io.porin.agent.encrypt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Key pairs: the public key as WireGuard's own tool derives it, kept 0600, reused. */
class WireGuardKeysTest {
  @TempDir Path dir;

  /** {@code wg pubkey}: the independent reference. */
  private static String wgPubkey(String privateBase64) throws Exception {
    Process p = new ProcessBuilder("wg", "pubkey").redirectErrorStream(true).start();
    try (var in = p.getOutputStream()) {
      in.write((privateBase64 + "\n").getBytes());
    }
    String out = new String(p.getInputStream().readAllBytes()).strip();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  @Test
  void thePublicKeyIsTheOneWireGuardDerives() throws Exception {
    for (int i = 0; i < 20; i++) {
      WireGuardKeys k = WireGuardKeys.generate();
      assertThat(k.publicBase64()).isEqualTo(wgPubkey(k.privateBase64()));
    }
    // and a key wg made (its genkey output), read as a file would be
    Process gen = new ProcessBuilder("wg", "genkey").start();
    String priv = new String(gen.getInputStream().readAllBytes()).strip();
    gen.waitFor();
    Path f = dir.resolve("wg.key");
    Files.createFile(
        f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(f, priv + "\n");
    assertThat(WireGuardKeys.load(f).publicBase64()).isEqualTo(wgPubkey(priv));
  }

  @Test
  void madeOnceKeptPrivateReusedAfterwards() throws Exception {
    Path f = dir.resolve("state/wireguard/private.key");
    WireGuardKeys first = WireGuardKeys.loadOrCreate(f);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f)))
        .isEqualTo("rw-------");
    assertThat(WireGuardKeys.loadOrCreate(f)).isEqualTo(first);
    assertThat(Files.list(f.getParent())).containsExactly(f); // no temporary file left
    assertThat(first.toString()).doesNotContain(first.privateBase64());
  }

  @Test
  void aKeyFileOthersCanReadOrThatHoldsNoKeyIsRefused() throws Exception {
    Path f = dir.resolve("private.key");
    WireGuardKeys.generate().save(f);
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
    assertThatThrownBy(() -> WireGuardKeys.load(f))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("rw-r--r--")
        .hasMessageContaining("0600");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
    Files.writeString(f, "bm90IGEga2V5\n");
    assertThatThrownBy(() -> WireGuardKeys.load(f)).hasMessageContaining("32 bytes, found 9");
    Files.writeString(f, "***\n");
    assertThatThrownBy(() -> WireGuardKeys.load(f)).hasMessageContaining("not a base64");
  }
}
