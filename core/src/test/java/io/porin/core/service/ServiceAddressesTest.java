package io.porin.core.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.porin.core.resource.ResourceParser;
import io.porin.core.resource.ServiceResource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServiceAddressesTest {
  private static final ServiceAddresses.Ranges RANGES =
      ServiceAddresses.Ranges.parse("10.96.0.0/16", "fd00:96::/112");

  @Test
  void allocatesOnePerFamilyInsideTheRangesAndNeverTwice() {
    Map<String, String> taken = new HashMap<>();
    for (int i = 0; i < 300; i++) {
      String svc = "ns/s" + i;
      List<String> ips = ServiceAddresses.clusterIPs(RANGES, svc, List.of(), taken);
      assertThat(ips).hasSize(2);
      assertThat(ips.get(0)).startsWith("10.96.");
      assertThat(ips.get(1)).startsWith("fd00:96::");
      for (String ip : ips) {
        assertThat(taken.put(ip, svc)).as(ip).isNull();
      }
    }
  }

  @Test
  void theStaticBandIsOnlyGivenOnRequest() {
    List<String> ips =
        ServiceAddresses.clusterIPs(
            RANGES, "kube-system/kube-dns", List.of("10.96.0.10"), Map.of());
    assertThat(ips.getFirst()).isEqualTo("10.96.0.10");
    ServiceAddresses.Ranges tiny = ServiceAddresses.Ranges.parse("10.96.0.0/27", null);
    Map<String, String> taken = new HashMap<>();
    for (int i = 0; i < 15; i++) {
      String ip = ServiceAddresses.clusterIPs(tiny, "n/s" + i, List.of(), taken).getFirst();
      int last = Integer.parseInt(ip.substring(ip.lastIndexOf('.') + 1));
      assertThat(last).isBetween(16, 30);
      taken.put(ip, "n/s" + i);
    }
    assertThatThrownBy(() -> ServiceAddresses.clusterIPs(tiny, "n/full", List.of(), taken))
        .hasMessageContaining("10.96.0.0/27 is full");
  }

  @Test
  void refusalsNameTheFieldTheValueAndTheHolder() {
    Map<String, String> taken = Map.of("10.96.0.10", "kube-system/kube-dns");
    assertThatThrownBy(
            () -> ServiceAddresses.clusterIPs(RANGES, "demo/api", List.of("10.96.0.10"), taken))
        .hasMessage(
            "spec.clusterIP: \"10.96.0.10\" is already the address of service kube-system/kube-dns");
    assertThatThrownBy(
            () -> ServiceAddresses.clusterIPs(RANGES, "demo/api", List.of("10.97.0.1"), taken))
        .hasMessage("spec.clusterIP: \"10.97.0.1\" is outside the service range 10.96.0.0/16");
    assertThat(
            ServiceAddresses.clusterIPs(
                RANGES, "kube-system/kube-dns", List.of("10.96.0.10"), taken))
        .first()
        .isEqualTo("10.96.0.10");
    assertThat(ServiceAddresses.clusterIPs(RANGES, "a/b", List.of("None"), taken))
        .containsExactly("None");
  }

  private static ServiceResource nodePortService(String yamlPorts) {
    return (ServiceResource)
        ResourceParser.parse(
                "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n"
                    + "spec:\n  type: NodePort\n  selector: {app: web}\n  ports:\n"
                    + yamlPorts)
            .resources()
            .getFirst();
  }

  @Test
  void nodePortsAreAllocatedOrCheckedAndNeverShared() {
    ServiceResource svc =
        nodePortService("  - {name: a, port: 80}\n  - {name: b, port: 81, nodePort: 30080}\n");
    Map<Integer, String> taken = new HashMap<>(Map.of(30001, "x/y"));
    List<Integer> ports = ServiceAddresses.nodePorts(svc, taken, 30000, 32767);
    assertThat(ports.get(1)).isEqualTo(30080);
    assertThat(ports.get(0)).isBetween(30000, 32767).isNotIn(30001, 30080);
    taken.put(30080, "other/svc");
    assertThatThrownBy(() -> ServiceAddresses.nodePorts(svc, taken, 30000, 32767))
        .hasMessage("spec.ports[1].nodePort: 30080 is already a node port of service other/svc");
    Map<Integer, String> full = new HashMap<>();
    for (int p = 30000; p <= 30001; p++) {
      full.put(p, "x/y");
    }
    assertThatThrownBy(
            () ->
                ServiceAddresses.nodePorts(nodePortService("  - {port: 80}\n"), full, 30000, 30001))
        .hasMessageContaining("no node port is free");
  }
}
