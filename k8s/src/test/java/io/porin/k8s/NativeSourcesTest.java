package io.porin.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a native build of each service compiles is made by every build (the {@code native-sources}
 * execution in the parent POM: Quarkus's native build up to native-image, which is not installed
 * here): the runner jar and {@code native-image.args}; for the agent, with its foreign calls, its
 * datapath objects as resources and its saved endpoints readable by reflection.
 */
class NativeSourcesTest {
  static Path sources(String service) {
    return Manifests.REPO.resolve("services/" + service + "/target/native-sources");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"identity", "ipam", "policy", "relay", "dns", "clustermesh", "node-agent"})
  void everyServiceHasItsNativeSources(String service) throws IOException {
    Path dir = sources(service);
    assertThat(dir.resolve("native-image.args")).isRegularFile();
    String args = Files.readString(dir.resolve("native-image.args"));
    assertThat(args).contains("porin-" + service + "-").contains("--enable-native-access");
    assertThat(dir.resolve("porin-" + service + "-" + version() + "-runner.jar")).isRegularFile();
  }

  @org.junit.jupiter.api.Test
  void theAgentsNativeBuildKnowsItsForeignCallsResourcesAndReflectedRecords() throws IOException {
    Path jar = sources("node-agent").resolve("porin-node-agent-" + version() + "-runner.jar");
    try (JarFile j = new JarFile(jar.toFile())) {
      String metadata =
          read(j, "META-INF/native-image/io.porin/porin-node-agent/reachability-metadata.json");
      assertThat(metadata).contains("\"downcalls\"").contains("\"upcalls\"");
      assertThat(read(j, "META-INF/native-image/resource-config.json")).contains("bpf/");
      for (String object : List.of("bpf/bpf_lxc.o", "bpf/bpf_sock.o")) {
        assertThat(j.getEntry(object)).as(object).isNotNull();
      }
      assertThat(read(j, "META-INF/native-image/reflect-config.json"))
          .contains("\"io.porin.agent.endpoint.Endpoint\"");
    }
  }

  static String read(JarFile j, String entry) throws IOException {
    var e = j.getEntry(entry);
    assertThat(e).as(entry).isNotNull();
    try (var in = j.getInputStream(e)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static String version() {
    return System.getProperty("porin.version");
  }
}
