package io.porin.dns.zone;

import java.util.List;

/**
 * The resolver's answer to a query: what the response carries besides the header fields the wire
 * layer copies from the query.
 *
 * @param rcode the response code
 * @param authoritative whether the answer comes from a zone this server is authoritative for (the
 *     AA bit)
 * @param answers the answer section
 * @param authority the authority section (the zone's SOA on negative answers)
 * @param additional the additional section (addresses of SRV targets)
 */
public record Resolution(
    Rcode rcode,
    boolean authoritative,
    List<ResourceRecord> answers,
    List<ResourceRecord> authority,
    List<ResourceRecord> additional) {

  public Resolution {
    answers = List.copyOf(answers);
    authority = List.copyOf(authority);
    additional = List.copyOf(additional);
  }

  /** An error without records, not authoritative. */
  public static Resolution error(Rcode rcode) {
    return new Resolution(rcode, false, List.of(), List.of(), List.of());
  }

  /** NOERROR with no answers (NODATA) or NXDOMAIN: only the authority section is filled. */
  public boolean isNegative() {
    return rcode == Rcode.NXDOMAIN || (rcode == Rcode.NOERROR && answers.isEmpty());
  }
}
