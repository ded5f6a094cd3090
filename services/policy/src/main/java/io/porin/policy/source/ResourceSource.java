package io.porin.policy.source;

import io.porin.core.resource.Resource;
import io.porin.core.resource.ResourceId;

/**
 * Where desired state comes from: the standalone store (etcd) or Kubernetes. Nothing downstream
 * knows which one it has.
 */
public interface ResourceSource extends AutoCloseable {

  /** Receives resources; called from the source's own threads, one call at a time. */
  interface Listener {
    /** Forget everything this source delivered; a full state follows. */
    void reset();

    /** A resource was created or changed. */
    void upsert(Resource resource);

    /** A resource was deleted. */
    void delete(ResourceId id);

    /** A resource exists but cannot be read; the message names the field and value. */
    void invalid(ResourceId id, String message);

    /** Everything that existed at start has been delivered (called once, or again after reset). */
    void synced();
  }

  /** Starts delivering; returns at once. */
  void start(Listener listener);

  /** One word for status pages: {@code standalone} or {@code kubernetes}. */
  String name();

  @Override
  void close();
}
