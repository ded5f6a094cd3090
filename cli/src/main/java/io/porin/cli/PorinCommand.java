package io.porin.cli;

import io.porin.cli.context.ContextCommand;
import io.porin.cli.identity.IdentityCommand;
import io.porin.cli.ipam.IpamCommand;
import io.porin.cli.policy.PolicyCommand;
import io.porin.cli.resource.ApplyCommand;
import io.porin.cli.resource.DeleteCommand;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code porin}: talks to a Porin installation's services. */
@Command(
    name = "porin",
    mixinStandardHelpOptions = true,
    version = "porin 0.1.0",
    description = "Identity-based networking, security and observability for Kubernetes.")
public class PorinCommand {
  @Mixin GlobalOptions options;

  /** The global options of this invocation. */
  public GlobalOptions options() {
    return options;
  }

  /** Its subcommands, in the order help lists them; {@link Main} adds those a command needs. */
  static final List<Class<?>> SUBCOMMANDS =
      List.of(
          IdentityCommand.class,
          IpamCommand.class,
          PolicyCommand.class,
          ApplyCommand.class,
          DeleteCommand.class,
          ContextCommand.class,
          io.porin.cli.agent.EndpointCommand.class,
          io.porin.cli.agent.BpfCommand.class,
          io.porin.cli.agent.ServiceCommand.class,
          io.porin.cli.encrypt.EncryptCommand.class,
          io.porin.cli.cluster.GetCommand.class,
          io.porin.cli.cluster.StatusCommand.class,
          io.porin.cli.lab.LabCommand.class,
          io.porin.cli.connectivity.ConnectivityCommand.class,
          io.porin.cli.observe.ObserveCommand.class,
          io.porin.cli.ca.CaCommand.class,
          io.porin.cli.audit.AuditCommand.class,
          io.porin.cli.mesh.ClusterMeshCommand.class,
          io.porin.cli.sysdump.SysdumpCommand.class);
}
