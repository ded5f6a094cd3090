package io.porin.dns.server;

import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DnsOpCode;
import io.netty.handler.codec.dns.DnsResponseCode;
import java.net.InetSocketAddress;

/** A UDP response with the size the client can take (512, or its EDNS0 payload size). */
final class UdpLimitedResponse extends DatagramDnsResponse {
  private final int limit;

  UdpLimitedResponse(
      InetSocketAddress sender,
      InetSocketAddress recipient,
      int id,
      DnsOpCode opCode,
      DnsResponseCode code,
      int limit) {
    super(sender, recipient, id, opCode, code);
    this.limit = limit;
  }

  int limit() {
    return limit;
  }
}
