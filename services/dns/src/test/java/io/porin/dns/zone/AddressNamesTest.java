package io.porin.dns.zone;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AddressNamesTest {

  @ParameterizedTest
  @CsvSource({
    "10-0-1-5, 10.0.1.5",
    "fd00--1, fd00::1",
    "fd00-0-0-0-0-0-0-1, fd00::1",
    "2001-db8--1-0-0-1, 2001:db8::1:0:0:1",
    "--1, ::1",
  })
  void dashedLabelsAreAddresses(String label, String address) {
    assertThat(AddressNames.parseDashed(label)).contains(InetAddress.ofLiteral(address));
  }

  @ParameterizedTest
  @CsvSource({
    "10-0-1",
    "10-0-1-256",
    "10-0-01-5",
    "a-b-c-d",
    "10-0-1-5-6-7",
    "fd00--1--2",
    "pod",
    "''"
  })
  void otherLabelsAreNot(String label) {
    assertThat(AddressNames.parseDashed(label)).isEmpty();
  }

  @ParameterizedTest
  @CsvSource({
    "10.0.1.5, 10-0-1-5, 10.0.1.5",
    "fd00:0:0:0:0:0:0:1, fd00--1, fd00::1",
    "2001:db8:0:0:1:0:0:1, 2001-db8--1-0-0-1, 2001:db8::1:0:0:1",
    "fd00:1:2:3:4:5:6:7, fd00-1-2-3-4-5-6-7, fd00:1:2:3:4:5:6:7",
    "fd00:0:1:0:0:0:0:0, fd00-0-1--, fd00:0:1::",
  })
  void addressesAreWrittenInTheirCompressedForm(String address, String dashed, String text) {
    InetAddress a = InetAddress.ofLiteral(address);
    assertThat(AddressNames.dashed(a)).isEqualTo(dashed);
    assertThat(AddressNames.text(a)).isEqualTo(text);
    assertThat(AddressNames.parseDashed(dashed)).contains(a);
  }

  @ParameterizedTest
  @CsvSource({
    "10.0.1.5, 5.1.0.10.in-addr.arpa",
    "fd00::1, 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
  })
  void reverseNamesRoundTrip(String address, String reverse) {
    InetAddress a = InetAddress.ofLiteral(address);
    assertThat(AddressNames.reverse(a)).isEqualTo(reverse);
    assertThat(AddressNames.parseReverse(reverse)).contains(a);
    assertThat(AddressNames.parseReverse(reverse.toUpperCase())).contains(a);
  }

  @ParameterizedTest
  @CsvSource({
    "10.in-addr.arpa",
    "1.0.10.in-addr.arpa",
    "x.1.0.10.in-addr.arpa",
    "1.ip6.arpa",
    "example.com"
  })
  void partialReverseNamesAreNoAddress(String name) {
    assertThat(AddressNames.parseReverse(name)).isEmpty();
  }
}
