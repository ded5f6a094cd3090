package io.porin.identity.allocate;

import io.porin.core.identity.NumericIdentity;
import io.porin.core.labels.LabelSet;

/**
 * An identity as stored.
 *
 * @param id its number
 * @param labels the labels that form it
 * @param createdRevision the etcd revision that created it (0 for reserved identities)
 * @param references how many owners hold it (-1 when not counted)
 */
public record IdentityRecord(
    NumericIdentity id, LabelSet labels, long createdRevision, int references) {}
