package io.porin.identity.join;

import io.porin.tls.PeerIdentity;

/** Who a token proves: the identity, and the pod it is bound to (a pod joins once). */
public record Joiner(PeerIdentity identity, String podName, String podUid) {}
