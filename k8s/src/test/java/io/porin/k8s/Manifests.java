package io.porin.k8s;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** The manifests as {@code kubectl kustomize} renders an overlay, as trees and as typed objects. */
final class Manifests {
  static final Path REPO = Path.of(System.getProperty("porin.repo", "..")).toAbsolutePath();
  static final Path K8S = REPO.resolve("k8s");
  static final String NAMESPACE = "porin-system";
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  final String overlay;
  final List<Map<String, Object>> trees;
  final List<HasMetadata> objects;

  private Manifests(String overlay, List<Map<String, Object>> trees, List<HasMetadata> objects) {
    this.overlay = overlay;
    this.trees = trees;
    this.objects = objects;
  }

  /** Renders {@code k8s/overlays/<overlay>} with {@code kubectl kustomize}. */
  static Manifests render(String overlay) {
    String yaml = kustomize(K8S.resolve("overlays").resolve(overlay));
    List<Map<String, Object>> trees = new ArrayList<>();
    List<HasMetadata> objects = new ArrayList<>();
    for (String doc : yaml.split("(?m)^---$")) {
      if (doc.isBlank()) {
        continue;
      }
      try {
        @SuppressWarnings("unchecked")
        Map<String, Object> tree = YAML.readValue(doc, Map.class);
        trees.add(tree);
      } catch (IOException e) {
        throw new AssertionError(overlay + ": a rendered document is not YAML: " + e, e);
      }
      objects.add(SERIALIZATION.unmarshal(doc, HasMetadata.class));
    }
    return new Manifests(overlay, trees, objects);
  }

  static String kustomize(Path dir) {
    try {
      Process p =
          new ProcessBuilder("kubectl", "kustomize", dir.toString())
              .redirectError(ProcessBuilder.Redirect.PIPE)
              .start();
      byte[] out = p.getInputStream().readAllBytes();
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new AssertionError("kubectl kustomize " + dir + " failed: " + err);
      }
      return new String(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new AssertionError(
          "kubectl is needed to render the manifests (setup.sh installs it)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  <T extends HasMetadata> T one(Class<T> type, String name) {
    return all(type).stream()
        .filter(o -> o.getMetadata().getName().equals(name))
        .findFirst()
        .orElseThrow(
            () -> new AssertionError(overlay + ": no " + type.getSimpleName() + " " + name));
  }

  /** A workload: its name and pod spec. */
  record Workload(String kind, String name, PodSpec pod) {
    /** The container named as the workload's component (porin-x: x; the agent: agent). */
    Container main() {
      String component = name.substring("porin-".length());
      return pod.getContainers().stream()
          .filter(c -> c.getName().equals(component))
          .findFirst()
          .orElseThrow(() -> new AssertionError(name + " has no container " + component));
    }

    Optional<String> env(String variable) {
      return main().getEnv().stream()
          .filter(e -> e.getName().equals(variable))
          .findFirst()
          .map(e -> e.getValue());
    }
  }

  List<Workload> workloads() {
    List<Workload> out = new ArrayList<>();
    all(Deployment.class)
        .forEach(
            d ->
                out.add(
                    new Workload(
                        "Deployment",
                        d.getMetadata().getName(),
                        d.getSpec().getTemplate().getSpec())));
    all(DaemonSet.class)
        .forEach(
            d ->
                out.add(
                    new Workload(
                        "DaemonSet",
                        d.getMetadata().getName(),
                        d.getSpec().getTemplate().getSpec())));
    all(StatefulSet.class)
        .forEach(
            d ->
                out.add(
                    new Workload(
                        "StatefulSet",
                        d.getMetadata().getName(),
                        d.getSpec().getTemplate().getSpec())));
    return out;
  }

  Workload workload(String name) {
    return workloads().stream()
        .filter(w -> w.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError(overlay + ": no workload " + name));
  }
}
