package io.porin.dns.zone;

/** The response codes the cluster DNS answers with (RFC 1035 4.1.1). */
public enum Rcode {
  /** an answer, or no data for that type (NODATA) */
  NOERROR(0),
  /** the query cannot be read: no question, or more than one */
  FORMERR(1),
  /** the zone is not loaded yet */
  SERVFAIL(2),
  /** the name does not exist in the zone */
  NXDOMAIN(3),
  /** an opcode or class this server does not implement */
  NOTIMP(4),
  /** a name this server is not authoritative for (no forwarding), or a zone transfer */
  REFUSED(5);

  private final int code;

  Rcode(int code) {
    this.code = code;
  }

  /** The 4-bit code on the wire. */
  public int code() {
    return code;
  }
}
