package io.porin.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every image the manifests run is one bin/build-images builds, from a Containerfile that exposes
 * the ports the manifests give its containers.
 */
class ImagesTest {
  private static final Pattern IMAGE = Pattern.compile("porin/([a-z-]+):.+");

  static Path containerfile(String image) {
    return image.equals("etcd")
        ? Manifests.REPO.resolve("images/etcd/Containerfile")
        : Manifests.REPO.resolve("services/" + image + "/Containerfile");
  }

  @Test
  void everyImageIsBuiltByBuildImagesFromAContainerfileExposingItsPorts() throws IOException {
    String script = Files.readString(Manifests.REPO.resolve("bin/build-images"));
    Matcher services = Pattern.compile("SERVICES=\\(([^)]*)\\)").matcher(script);
    assertThat(services.find()).as("bin/build-images names its SERVICES").isTrue();
    List<String> built = new ArrayList<>(List.of(services.group(1).strip().split("\\s+")));
    built.add("etcd");
    java.util.Set<String> problems = new java.util.LinkedHashSet<>();
    for (String overlay : List.of("dev", "production")) {
      for (Manifests.Workload w : Manifests.render(overlay).workloads()) {
        for (Container c :
            Stream.concat(w.pod().getInitContainers().stream(), w.pod().getContainers().stream())
                .toList()) {
          Matcher m = IMAGE.matcher(c.getImage());
          if (!m.matches()) {
            problems.add(w.name() + "/" + c.getName() + ": " + c.getImage() + " is not Porin's");
            continue;
          }
          String image = m.group(1);
          if (!built.contains(image)) {
            problems.add(w.name() + ": bin/build-images does not build porin/" + image);
          }
          Path file = containerfile(image);
          if (!Files.exists(file)) {
            problems.add(w.name() + ": no " + Manifests.REPO.relativize(file));
            continue;
          }
          String exposed = exposed(Files.readString(file));
          for (ContainerPort p : c.getPorts()) {
            String port = Integer.toString(p.getContainerPort());
            if (!(" " + exposed + " ").matches(".* " + port + "(/(tcp|udp))? .*")) {
              problems.add(
                  w.name() + "/" + c.getName() + ": port " + port + " is not EXPOSEd by " + file);
            }
          }
        }
      }
    }
    assertThat(problems).isEmpty();
  }

  /** The ports a Containerfile's EXPOSE lines name, space-separated. */
  static String exposed(String containerfile) {
    StringBuilder out = new StringBuilder();
    for (String line : containerfile.split("\n")) {
      if (line.startsWith("EXPOSE ")) {
        out.append(' ').append(line.substring("EXPOSE ".length()).strip());
      }
    }
    return out.toString().strip();
  }

  @Test
  void exposedPortsAreRead() {
    assertThat(exposed("FROM x\nEXPOSE 53/udp 53/tcp 9405\nEXPOSE 1\n"))
        .isEqualTo("53/udp 53/tcp 9405 1");
  }
}
