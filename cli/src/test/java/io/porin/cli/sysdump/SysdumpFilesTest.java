package io.porin.cli.sysdump;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bundle's archive, read back by tar(1), and what is kept out of it. */
class SysdumpFilesTest {
  @TempDir Path dir;

  @Test
  void tarReadsTheArchiveBackWithLongPathsAndExactContents() throws Exception {
    Path bundle = dir.resolve("b.tar.gz");
    String longPath = "sysdump/nodes/" + "n".repeat(90) + "/" + "x".repeat(60) + ".log";
    byte[] big = "line\n".repeat(300).getBytes(StandardCharsets.UTF_8);
    try (var out = Files.newOutputStream(bundle);
        Tar tar = new Tar(out)) {
      tar.add("sysdump/index.txt", "hello\n".getBytes(StandardCharsets.UTF_8));
      tar.add(longPath, big);
      tar.add("sysdump/empty", new byte[0]);
    }
    Process list = new ProcessBuilder("tar", "-tzf", bundle.toString()).start();
    assertThat(new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines())
        .containsExactly("sysdump/index.txt", longPath, "sysdump/empty");
    assertThat(list.waitFor()).isZero();
    Process x = new ProcessBuilder("tar", "-xzOf", bundle.toString(), longPath).start();
    assertThat(x.getInputStream().readAllBytes()).isEqualTo(big);
    assertThat(x.waitFor()).isZero();
  }

  @Test
  void privateKeysAndSecretValuesAreRedactedAndTheRestKept() {
    String pem =
        "cert\n-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----\n"
            + "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\nafter\n";
    String r = Redact.text(pem);
    assertThat(r)
        .doesNotContain("PRIVATE KEY-----")
        .doesNotContain("MIGHAgEA")
        .contains("cert", "after");
    assertThat(Redact.text("-----BEGIN PRIVATE KEY-----\nMIGHcut")).doesNotContain("MIGH");
    for (String secret :
        List.of(
            "-Dquarkus.datasource.password=hunter2",
            "token: hunter2",
            "\"apiKey\": \"hunter2\"",
            "ETCD_CLIENT_SECRET=hunter2",
            "Authorization: Bearer hunter2")) {
      assertThat(Redact.text(secret)).as(secret).doesNotContain("hunter2").contains("[redacted]");
    }
    String plain =
        "-Dporin.tls.key=/var/lib/porin/labs/x/pki/node.pem porin_authz_denied_total{caller_kind=\"node\"} 3";
    assertThat(Redact.text(plain)).isEqualTo(plain);
  }

  @Test
  void tailKeepsTheLastLines() throws Exception {
    Path log = dir.resolve("a.log");
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int i = 1; i <= 50; i++) {
      b.write(("line " + i + "\n").getBytes(StandardCharsets.UTF_8));
    }
    Files.write(log, b.toByteArray());
    assertThat(SysdumpCommand.tail(log, 3)).isEqualTo("line 48\nline 49\nline 50\n");
    assertThat(SysdumpCommand.tail(log, 0)).isEqualTo("\n");
  }
}
