package io.porin.kvstore;

/**
 * One key as etcd stores it.
 *
 * @param key the full key
 * @param value the value, as UTF-8 text
 * @param modRevision the revision of the last write to the key
 * @param version how often the key was written since it was created (0: absent)
 * @param lease the lease the key is attached to, 0 for none
 */
public record Entry(String key, String value, long modRevision, long version, long lease) {}
