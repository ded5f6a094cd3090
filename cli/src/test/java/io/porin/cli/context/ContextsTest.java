package io.porin.cli.context;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContextsTest {
  @TempDir Path dir;

  @Test
  void noFileMeansTheLocalDefault() {
    Contexts.Named n = Contexts.load(dir.resolve("absent")).resolve(Optional.empty());
    assertThat(n.name()).isEqualTo("default");
    assertThat(n.context().identity()).isEqualTo("127.0.0.1:9401");
    assertThat(n.context().ipam()).isEqualTo("127.0.0.1:9402");
  }

  @Test
  void setUseAndResolveRoundTripThroughTheFile() throws Exception {
    Path f = dir.resolve("sub/config");
    Contexts.load(f).with("lab", new Contexts.Context("127.0.0.1:9501", null, null, null), true);
    Contexts.load(f)
        .with(
            "prod",
            new Contexts.Context(
                "10.0.0.1:9401", "10.0.0.1:9402", "10.0.0.1:9403", "10.0.0.1:9404"),
            false);
    Contexts c = Contexts.load(f);
    assertThat(c.current()).contains("lab");
    assertThat(c.resolve(Optional.empty()).context().identity()).isEqualTo("127.0.0.1:9501");
    assertThat(c.resolve(Optional.of("prod")).context().identity()).isEqualTo("10.0.0.1:9401");
    assertThat(c.resolve(Optional.of("prod")).context().ipam()).isEqualTo("10.0.0.1:9402");
    assertThat(c.resolve(Optional.empty()).context().ipam()).isEqualTo("127.0.0.1:9402");
    c.use("prod");
    assertThat(Contexts.load(f).resolve(Optional.empty()).name()).isEqualTo("prod");
    assertThat(Files.readString(f))
        .contains("current-context: \"prod\"")
        .contains("identity: \"127.0.0.1:9501\"");
  }

  @Test
  void unknownContextsAndBrokenFilesAreNamed() throws Exception {
    Path f = dir.resolve("config");
    Contexts.load(f).with("lab", new Contexts.Context("127.0.0.1:9501", null, null, null), true);
    assertThatThrownBy(() -> Contexts.load(f).resolve(Optional.of("nope")))
        .hasMessageContaining("context \"nope\" is not in " + f)
        .hasMessageContaining("[lab]");
    assertThatThrownBy(() -> Contexts.load(f).use("nope")).hasMessageContaining("\"nope\"");
    Files.writeString(f, "contexts: [unclosed");
    assertThatThrownBy(() -> Contexts.load(f))
        .hasMessageContaining(f + ": not a Porin context file");
  }
}
