package io.porin.core.ipam;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CidrTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource({
    "10.0.0.0/8,IPV4,16777216",
    "0.0.0.0/0,IPV4,4294967296",
    "192.168.1.7/32,IPV4,1",
    "fd00::/104,IPV6,16777216",
    "::/0,IPV6,340282366920938463463374607431768211456",
    "2001:db8::1/128,IPV6,1",
    "fd00:0:0:0:0:0:0:0/120,IPV6,256"
  })
  void parsesSizesAndPrintsCanonically(String text, Cidr.Family family, BigInteger size) {
    Cidr c = Cidr.parse(text);
    assertThat(c.family()).isEqualTo(family);
    assertThat(c.size()).isEqualTo(size);
    assertThat(Cidr.parse(c.toString())).isEqualTo(c);
  }

  @Test
  void ipv6IsPrintedCompressed() {
    assertThat(Cidr.parse("fd00:0:0:0:0:0:0:0/120").toString()).isEqualTo("fd00::/120");
    assertThat(Cidr.parse("2001:db8:0:0:1:0:0:1/128").toString())
        .isEqualTo("2001:db8::1:0:0:1/128");
    assertThat(Cidr.parse("::/0").toString()).isEqualTo("::/0");
    assertThat(Cidr.parse("1:2:3:4:5:6:7:8/128").toString()).isEqualTo("1:2:3:4:5:6:7:8/128");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          10.0.0.0        | no /prefix
          10.0.0.0/33     | prefix length 33 is outside 0..32
          10.0.0.0/x      | bad prefix length
          10.0.0.256/8    | bad address
          example.com/8   | bad address
          fd00::/129      | prefix length 129 is outside 0..128
          10.0.0.5/24     | has host bits set; did you mean 10.0.0.0/24?
          fd00::1/120     | did you mean fd00::/120?
          """)
  void refusesWhatIsNotACidr(String text, String problem) {
    assertThatThrownBy(() -> Cidr.parse(text)).hasMessageContaining(problem);
  }

  /** An independent reference for IPv4: plain long bit masks. */
  private static long mask(int prefix) {
    return prefix == 0 ? 0 : (0xFFFFFFFFL << (32 - prefix)) & 0xFFFFFFFFL;
  }

  private static boolean refContains(long net, int prefix, long addr) {
    return (addr & mask(prefix)) == net;
  }

  @Test
  void ipv4ContainsAndOverlapsAgreeWithABitMaskReference() {
    Random r = new Random(11);
    for (int i = 0; i < 20_000; i++) {
      int p = r.nextInt(33);
      int q = r.nextInt(33);
      long mp = mask(p);
      long mq = mask(q);
      // Draw related networks often, so that containment and overlap actually occur.
      long a = (r.nextInt() & 0xFFFFFFFFL) & mp;
      long b =
          (r.nextBoolean() ? a | (r.nextInt() & 0xFFFFFFFFL & ~mp) : r.nextInt() & 0xFFFFFFFFL)
              & mq;
      Cidr ca = new Cidr(Cidr.Family.IPV4, BigInteger.valueOf(a), p);
      Cidr cb = new Cidr(Cidr.Family.IPV4, BigInteger.valueOf(b), q);
      long addr = r.nextBoolean() ? b : r.nextInt() & 0xFFFFFFFFL;
      assertThat(ca.contains(BigInteger.valueOf(addr))).isEqualTo(refContains(a, p, addr));
      boolean refAcontainsB = q >= p && refContains(a, p, b);
      assertThat(ca.contains(cb)).isEqualTo(refAcontainsB);
      // Two prefixes overlap exactly when they agree on their first min(p, q) bits.
      long common = mask(Math.min(p, q));
      boolean refOverlap = (a & common) == (b & common);
      assertThat(ca.overlaps(cb)).isEqualTo(refOverlap);
    }
  }

  @Test
  void splittingCoversThePrefixWithDisjointAlignedBlocks() {
    for (String pool :
        new String[] {
          "10.0.0.0/21", "0.0.0.0/0", "10.1.2.3/32", "fd00::/116", "::/0", "2001:db8::5/128"
        }) {
      Cidr c = Cidr.parse(pool);
      for (int mask = c.prefixLength();
          mask <= Math.min(c.prefixLength() + 6, c.family().bits());
          mask++) {
        BigInteger n = c.blockCount(mask);
        assertThat(n).isEqualTo(BigInteger.ONE.shiftLeft(mask - c.prefixLength()));
        BigInteger expectedNext = c.network();
        for (BigInteger i = BigInteger.ZERO; i.compareTo(n) < 0; i = i.add(BigInteger.ONE)) {
          Cidr b = c.block(i, mask);
          assertThat(b.network()).as(pool + " /" + mask + " block " + i).isEqualTo(expectedNext);
          assertThat(c.contains(b)).isTrue();
          assertThat(c.indexOf(b)).isEqualTo(i);
          expectedNext = b.last().add(BigInteger.ONE);
        }
        assertThat(expectedNext).isEqualTo(c.last().add(BigInteger.ONE));
      }
    }
  }

  @Test
  void aMaskShorterThanThePrefixIsRefused() {
    assertThatThrownBy(() -> Cidr.parse("10.0.0.0/16").blockCount(8))
        .hasMessageContaining("mask size /8 does not fit 10.0.0.0/16");
    assertThatThrownBy(() -> Cidr.parse("10.0.0.0/16").block(BigInteger.valueOf(256), 24))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }

  @Test
  void addressesIterateAndFormat() {
    Cidr c = Cidr.parse("10.0.0.0/30");
    assertThat(Cidr.format(c.family(), c.addressAt(BigInteger.valueOf(3)))).isEqualTo("10.0.0.3");
    assertThatThrownBy(() -> c.addressAt(BigInteger.valueOf(4)))
        .isInstanceOf(IndexOutOfBoundsException.class);
    Cidr v6 = Cidr.parse("fd00::/120");
    assertThat(Cidr.format(v6.family(), v6.last())).isEqualTo("fd00::ff");
  }
}
