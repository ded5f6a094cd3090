package io.porin.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.cli.identity.IdentityCommand;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which subcommand's model the command line is built with (only the one a command names). */
class MainTest {
  @Test
  void theSubcommandIsTheFirstArgumentThatIsNeitherAnOptionNorItsValue() {
    assertThat(Main.subcommand(new String[] {"identity", "list"})).contains(IdentityCommand.class);
    assertThat(Main.subcommand(new String[] {"--context", "identity", "identity", "list"}))
        .contains(IdentityCommand.class);
    assertThat(Main.subcommand(new String[] {"-o", "json", "--node", "n1", "status"}))
        .contains(io.porin.cli.cluster.StatusCommand.class);
    assertThat(Main.subcommand(new String[] {"--context=lab", "-ojson", "observe"}))
        .contains(io.porin.cli.observe.ObserveCommand.class);
    assertThat(Main.subcommand(new String[] {"--help"})).isEqualTo(Optional.empty());
    assertThat(Main.subcommand(new String[] {"idenity", "list"})).isEqualTo(Optional.empty());
  }

  @Test
  void helpAndUnknownCommandsSeeEveryCommand() {
    assertThat(Main.commandLine(new String[] {"--help"}).getSubcommands())
        .hasSize(PorinCommand.SUBCOMMANDS.size())
        .containsKeys("identity", "lab", "observe", "status");
    assertThat(Main.commandLine(new String[] {"identity", "list"}).getSubcommands())
        .containsOnlyKeys("identity");
  }
}
