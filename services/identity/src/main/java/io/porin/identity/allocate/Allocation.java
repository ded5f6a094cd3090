package io.porin.identity.allocate;

import io.porin.core.labels.LabelSet;

/**
 * The answer to an allocation.
 *
 * @param identity the identity, with its reference now held by the owner
 * @param created true when this allocation created the identity
 * @param ignored the requested labels that do not form identity
 */
public record Allocation(IdentityRecord identity, boolean created, LabelSet ignored) {}
