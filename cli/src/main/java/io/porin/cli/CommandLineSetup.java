package io.porin.cli;

import io.quarkus.picocli.runtime.PicocliCommandLineFactory;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import java.util.Optional;
import picocli.CommandLine;

/** The command line, with bad input reported as one line naming what is wrong. */
@ApplicationScoped
public class CommandLineSetup {

  /** Exit code for input the command refuses (a bad context file, an unknown context, ...). */
  public static final int BAD_INPUT = 2;

  @Produces
  CommandLine commandLine(PicocliCommandLineFactory factory) {
    CommandLine cl = factory.create();
    CommandLine.IExecutionStrategy local = cl.getExecutionStrategy();
    return cl.setExecutionStrategy(
            parsed -> {
              Optional<Integer> there;
              try {
                there = NetnsReexec.runElsewhere(parsed);
              } catch (IllegalArgumentException e) {
                cl.getErr().println("porin: " + e.getMessage());
                cl.getErr().flush();
                return BAD_INPUT;
              }
              return there.isPresent() ? there.get() : local.execute(parsed);
            })
        .setExecutionExceptionHandler(
            (e, cmd, parsed) -> {
              if (e instanceof IllegalArgumentException) {
                cmd.getErr().println("porin: " + e.getMessage());
                cmd.getErr().flush();
                return BAD_INPUT;
              }
              if (e instanceof io.porin.lab.LabException) {
                cmd.getErr().println("porin: " + e.getMessage());
                cmd.getErr().flush();
                return ServiceCall.FAILED;
              }
              throw e;
            });
  }
}
