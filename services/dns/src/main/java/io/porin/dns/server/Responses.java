package io.porin.dns.server;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DefaultDnsResponse;
import io.netty.handler.codec.dns.DnsQuery;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.porin.dns.zone.Query;
import io.porin.dns.zone.Question;
import io.porin.dns.zone.Resolution;
import io.porin.dns.zone.ResourceRecord;
import java.util.ArrayList;
import java.util.List;

/** Translation between Netty's DNS messages and the resolver's queries and resolutions. */
final class Responses {
  /** The UDP size every client can take (RFC 1035). */
  static final int CLASSIC_UDP_SIZE = 512;

  /** The UDP payload this server advertises in its OPT record (DNS flag day 2020). */
  static final int ADVERTISED_UDP_SIZE = 1232;

  private Responses() {}

  /** The resolver's view of a query. */
  static Query query(DnsQuery q) {
    List<Question> questions = new ArrayList<>();
    for (int i = 0; i < q.count(DnsSection.QUESTION); i++) {
      DnsQuestion d = q.recordAt(DnsSection.QUESTION, i);
      questions.add(new Question(d.name(), d.type().intValue(), d.dnsClass()));
    }
    return new Query(q.opCode().byteValue() & 0xf, questions);
  }

  /** The query's OPT record (EDNS0), or null. */
  static DnsRecord optOf(DnsQuery q) {
    for (int i = 0; i < q.count(DnsSection.ADDITIONAL); i++) {
      DnsRecord r = q.recordAt(DnsSection.ADDITIONAL, i);
      if (r.type() == DnsRecordType.OPT) {
        return r;
      }
    }
    return null;
  }

  /** The UDP size the client takes: its EDNS0 payload size, and never less than 512. */
  static int udpLimit(DnsRecord opt) {
    return opt == null ? CLASSIC_UDP_SIZE : Math.max(CLASSIC_UDP_SIZE, opt.dnsClass());
  }

  /** This server's OPT record: version 0, no flags, no options. */
  static DnsRecord opt() {
    return new DefaultDnsRawRecord(
        "", DnsRecordType.OPT, ADVERTISED_UDP_SIZE, 0, Unpooled.EMPTY_BUFFER);
  }

  /** An empty response to the query (UDP or TCP, as the query came), header fields copied. */
  static DnsResponse responseTo(DnsQuery q, DnsResponseCode code, DnsRecord opt) {
    DnsResponse r =
        q instanceof DatagramDnsQuery d
            ? new UdpLimitedResponse(
                d.recipient(), d.sender(), q.id(), q.opCode(), code, udpLimit(opt))
            : new DefaultDnsResponse(q.id(), q.opCode(), code);
    r.setRecursionDesired(q.isRecursionDesired());
    r.setRecursionAvailable(false);
    for (int i = 0; i < q.count(DnsSection.QUESTION); i++) {
      DnsQuestion d = q.recordAt(DnsSection.QUESTION, i);
      r.addRecord(DnsSection.QUESTION, new DefaultDnsQuestion(d.name(), d.type(), d.dnsClass()));
    }
    return r;
  }

  /** The full response for a resolution. */
  static DnsResponse of(DnsQuery q, Resolution res) {
    DnsRecord opt = optOf(q);
    DnsResponse r = responseTo(q, DnsResponseCode.valueOf(res.rcode().code()), opt);
    r.setAuthoritativeAnswer(res.authoritative());
    add(r, DnsSection.ANSWER, res.answers());
    add(r, DnsSection.AUTHORITY, res.authority());
    add(r, DnsSection.ADDITIONAL, res.additional());
    if (opt != null) {
      r.addRecord(DnsSection.ADDITIONAL, opt());
    }
    return r;
  }

  private static void add(DnsResponse r, DnsSection section, List<ResourceRecord> records) {
    for (ResourceRecord rec : records) {
      r.addRecord(section, WireRecords.of(rec));
    }
  }
}
