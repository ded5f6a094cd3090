package io.porin.agent.datapath;

/**
 * One policy map entry's key as the kernel holds it.
 *
 * @param identity the peer identity, 0 for any peer, or an ipBlock class id
 * @param protocol 0 for any
 * @param port the destination port or ICMP type, the first {@code prefixLength - 8} bits of it
 * @param prefixLength 0 (any protocol), 8 (any port of the protocol) up to 24 (one port)
 */
public record PolicyKey(int identity, int direction, int protocol, int port, int prefixLength) {}
