package io.porin.lab;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where Porin's built programs are: {@code $PORIN_HOME} (bin/porin sets it to the checkout), else
 * the checkout this code was loaded from. The lab runs the same jars and binaries the build made.
 */
public record Installation(Path home) {

  public static Installation find() {
    String env = System.getenv("PORIN_HOME");
    if (env != null && !env.isBlank()) {
      return new Installation(Path.of(env));
    }
    try {
      Path p =
          Path.of(Installation.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      for (; p != null; p = p.getParent()) {
        if (Files.isDirectory(p.resolve("services/node-agent"))) {
          return new Installation(p);
        }
      }
    } catch (URISyntaxException | SecurityException e) {
      // fall through
    }
    throw new LabException("cannot tell where Porin is built: set PORIN_HOME to the checkout");
  }

  public Path java() {
    return Path.of(System.getProperty("java.home"), "bin", "java");
  }

  public Path serviceJar(String service) {
    return home.resolve("services/" + service + "/target/quarkus-app/quarkus-run.jar");
  }

  public Path agentJar() {
    return serviceJar("node-agent");
  }

  /** The CLI's jar (the lab's command server runs it). */
  public Path cliJar() {
    return home.resolve("cli/target/porin-cli.jar");
  }

  public Path cniPlugin() {
    return home.resolve("services/node-agent/target/bin/porin-cni");
  }

  public Path podProgram() {
    return home.resolve("lab/target/bin/porin-pod");
  }

  /**
   * Checks that everything the lab runs is built.
   *
   * @throws LabException naming what is missing and how to build it
   */
  public void check() {
    for (Path p :
        List.of(
            serviceJar("identity"),
            serviceJar("ipam"),
            serviceJar("policy"),
            serviceJar("relay"),
            serviceJar("dns"),
            serviceJar("clustermesh"),
            agentJar(),
            cniPlugin(),
            podProgram())) {
      if (!Files.exists(p)) {
        throw new LabException(p + " is missing: build first (./setup.sh, or ./mvnw install)");
      }
    }
  }
}
