package io.porin.cli;

import io.quarkus.picocli.runtime.PicocliCommandLineFactory;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import picocli.CommandLine;

/** The command line, with bad input reported as one line naming what is wrong. */
@ApplicationScoped
public class CommandLineSetup {

  /** Exit code for input the command refuses (a bad context file, an unknown context, ...). */
  public static final int BAD_INPUT = 2;

  @Produces
  CommandLine commandLine(PicocliCommandLineFactory factory) {
    return factory
        .create()
        .setExecutionExceptionHandler(
            (e, cmd, parsed) -> {
              if (e instanceof IllegalArgumentException) {
                cmd.getErr().println("porin: " + e.getMessage());
                cmd.getErr().flush();
                return BAD_INPUT;
              }
              throw e;
            });
  }
}
