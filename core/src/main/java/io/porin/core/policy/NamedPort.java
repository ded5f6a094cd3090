package io.porin.core.policy;

/** A container port with a name, as a named-port rule resolves it. */
public record NamedPort(String name, Protocol protocol, int port) {}
