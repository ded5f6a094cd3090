package io.porin.cli.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.cli.Env;
import io.porin.cli.output.Colors;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** porin status in cilium status's colours, on a terminal only, never with --no-color/NO_COLOR. */
class StatusColorsTest {
  static final StatusCommand.Line OK = new StatusCommand.Line("etcd", true, "revision 9");
  static final StatusCommand.Line BAD = new StatusCommand.Line("Relay", false, "unreachable");

  @Test
  void okIsGreenAndNotOkRedOnATerminal() {
    Colors on = Colors.forced(true);
    assertThat(StatusCommand.line(OK, on))
        .isEqualTo("etcd:             \u001b[32mOK       \u001b[0m revision 9");
    assertThat(StatusCommand.line(BAD, on)).contains("\u001b[31mNOT OK   \u001b[0m unreachable");
    assertThat(StatusCommand.line(OK, Colors.forced(false)))
        .isEqualTo("etcd:             OK        revision 9");
  }

  @Test
  void theClientsTerminalDecidesAndNoColorWins() throws Exception {
    assertThat(colored(Map.of("PORIN_TERMINAL", "1"), false)).isTrue();
    assertThat(colored(Map.of("PORIN_TERMINAL", "0"), false)).isFalse();
    assertThat(colored(Map.of("PORIN_TERMINAL", "1", "NO_COLOR", "1"), false)).isFalse();
    assertThat(colored(Map.of("PORIN_TERMINAL", "1"), true)).as("--no-color").isFalse();
  }

  static boolean colored(Map<String, String> clientEnv, boolean noColor) throws Exception {
    return ScopedValue.where(Env.CLIENT, clientEnv)
        .call(() -> StatusCommand.line(OK, Colors.of(noColor)).contains("\u001b["));
  }
}
