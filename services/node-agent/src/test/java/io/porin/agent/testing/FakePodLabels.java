package io.porin.agent.testing;

import io.porin.agent.control.PodLabels;
import io.porin.core.labels.LabelSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Pods' and namespaces' labels in memory; changes are told to the watcher like a watch would. */
public final class FakePodLabels implements PodLabels {
  private final Map<String, List<String>> pods = new HashMap<>();
  private final Map<String, List<String>> namespaces = new HashMap<>();
  private Changes watcher;

  /** A pod's own labels ({@code k8s:app=web}, ...), without its namespace's. */
  public synchronized void pod(String namespace, String pod, String... labels) {
    pods.put(namespace + "/" + pod, List.of(labels));
    if (watcher != null) {
      watcher.changed(namespace, pod);
    }
  }

  public synchronized void removePod(String namespace, String pod) {
    pods.remove(namespace + "/" + pod);
    if (watcher != null) {
      watcher.changed(namespace, pod);
    }
  }

  public synchronized void namespace(String namespace, String... labels) {
    namespaces.put(namespace, List.of(labels));
    if (watcher != null) {
      watcher.changed(namespace, "");
    }
  }

  @Override
  public synchronized Found labels(String namespace, String pod) {
    List<String> all = new ArrayList<>();
    all.add("k8s:io.kubernetes.pod.namespace=" + namespace);
    namespaces.getOrDefault(namespace, List.of()).forEach(all::add);
    List<String> own = pods.get(namespace + "/" + pod);
    if (own != null) {
      all.addAll(own);
    }
    return new Found(LabelSet.parse(all), own != null);
  }

  @Override
  public synchronized AutoCloseable watch(Changes changes) {
    watcher = changes;
    return () -> {
      synchronized (this) {
        watcher = null;
      }
    };
  }
}
