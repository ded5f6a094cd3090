package io.porin.ipam.grpc;

import static io.porin.service.testing.GrpcAssertions.assertStatus;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.porin.api.ipam.v1.AllocateNodeRequest;
import io.porin.api.ipam.v1.IpamGrpc;
import io.porin.api.ipam.v1.ListRequest;
import io.porin.api.ipam.v1.ListResponse;
import io.porin.api.ipam.v1.NodeCidrs;
import io.porin.api.ipam.v1.ReleaseNodeRequest;
import io.porin.api.ipam.v1.WatchEvent;
import io.porin.api.ipam.v1.WatchRequest;
import io.porin.ipam.EtcdResource;
import io.porin.kvstore.testing.EtcdProcess;
import io.porin.service.testing.TestHttp;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** The packaged IPAM service over gRPC and HTTP, against a real etcd. */
@QuarkusIntegrationTest
@WithTestResource(EtcdResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IpamServiceIT {
  static ManagedChannel channel;

  @BeforeAll
  static void connect() {
    channel = io.porin.service.testing.TestChannels.admin(EtcdResource.port, "ipam");
  }

  @AfterAll
  static void disconnect() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private static IpamGrpc.IpamBlockingStub stub() {
    return IpamGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static NodeCidrs allocate(String node) {
    return stub().allocateNode(AllocateNodeRequest.newBuilder().setNode(node).build());
  }

  /** A process without the cluster's certificate gets a failed handshake, nothing else. */
  @Test
  @org.junit.jupiter.api.Order(0)
  void onlyTheClusterIsServed() throws Exception {
    io.porin.service.testing.TlsRefusals.assertOnlyTheClusterIsServed(EtcdResource.port, "ipam");
  }

  @Test
  @Order(1)
  void nodesGetBlocksFromThePoolsInOrderAndTheSameAnswerTwice() {
    NodeCidrs a = allocate("node-a");
    assertThat(a.getIpv4CidrsList()).containsExactly("10.10.0.0/24");
    assertThat(a.getIpv6CidrsList()).containsExactly("fd00::/120");
    assertThat(allocate("node-a").getIpv4CidrsList()).isEqualTo(a.getIpv4CidrsList());
    assertThat(allocate("node-b").getIpv4CidrsList()).containsExactly("10.10.1.0/24");
    assertThat(allocate("node-c").getIpv4CidrsList()).containsExactly("10.20.0.0/24");
    ListResponse l = stub().list(ListRequest.getDefaultInstance());
    assertThat(l.getNodesList())
        .extracting(NodeCidrs::getNode)
        .containsExactly("node-a", "node-b", "node-c");
    assertThat(l.getPools(0).getFamily()).isEqualTo("ipv4");
    assertThat(l.getPools(0).getBlocksTotal()).isEqualTo(3);
    assertThat(l.getPools(0).getBlocksUsed()).isEqualTo(3);
    assertThat(l.getPools(1).getBlocksTotal()).isEqualTo(65536);
  }

  @Test
  @Order(2)
  void exhaustionAndBadInputAreNamed() {
    assertStatus(
        () -> allocate("node-d"), Status.Code.RESOURCE_EXHAUSTED, "clusterPoolIPv4PodCIDRList");
    assertStatus(
        () -> allocate("node-d"), Status.Code.RESOURCE_EXHAUSTED, "3 nodes hold all 3 blocks");
    assertStatus(() -> allocate(""), Status.Code.INVALID_ARGUMENT, "node: the node name is empty");
  }

  @Test
  @Order(3)
  void releaseIsWatchedAndFreesTheBlock() {
    long rev = stub().list(ListRequest.getDefaultInstance()).getRevision();
    Iterator<WatchEvent> events =
        IpamGrpc.newBlockingStub(channel)
            .withDeadlineAfter(20, TimeUnit.SECONDS)
            .watch(WatchRequest.newBuilder().setFromRevision(rev).build());
    assertThat(
            stub()
                .releaseNode(ReleaseNodeRequest.newBuilder().setNode("node-b").build())
                .getReleased())
        .isTrue();
    WatchEvent released = events.next();
    assertThat(released.getType()).isEqualTo(WatchEvent.Type.RELEASED);
    assertThat(released.getNode().getNode()).isEqualTo("node-b");
    assertThat(released.getNode().getIpv4CidrsList()).containsExactly("10.10.1.0/24");
    assertThat(allocate("node-d").getIpv4CidrsList()).containsExactly("10.10.1.0/24");
    WatchEvent allocated = events.next();
    assertThat(allocated.getType()).isEqualTo(WatchEvent.Type.ALLOCATED);
    assertThat(allocated.getRevision()).isGreaterThan(released.getRevision());
  }

  @Test
  @Order(4)
  void metricsAndReadiness() {
    assertThat(TestHttp.get(EtcdResource.port, "ipam", "/q/health/ready"))
        .satisfies(
            r -> {
              assertThat(r.status()).isEqualTo(200);
            });
    assertThat(TestHttp.get(EtcdResource.port, "ipam", "/q/metrics"))
        .satisfies(
            r -> {
              assertThat(r.status()).isEqualTo(200);
              assertThat(r.body()).contains("porin_ipam_node_cidrs_total{family=\"ipv4\"} 3.0");
              assertThat(r.body()).contains("porin_ipam_node_cidrs_used{family=\"ipv4\"}");
              assertThat(r.body())
                  .contains("porin_ipam_allocation_errors_total{code=\"RESOURCE_EXHAUSTED\"}");
            });
  }

  @Test
  @Order(5)
  void badPoolSettingsStopTheServiceNamingTheSettingAndValue() throws Exception {
    Path jar = Path.of("target/quarkus-app/quarkus-run.jar").toAbsolutePath();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<List<String>> cases =
        List.of(
            List.of(
                "-Dporin.ipam.cluster-pool-ipv4-pod-cidr-list=10.0.0.0/8,10.3.0.0/16",
                "the pools 10.0.0.0/8 and 10.3.0.0/16 overlap"),
            List.of(
                "-Dporin.ipam.cluster-pool-ipv4-mask-size=4",
                "clusterPoolIPv4MaskSize): /4 is shorter than the pool 10.0.0.0/8"),
            List.of(
                "-Dporin.ipam.cluster-pool-ipv6-pod-cidr-list=fd00::/zz",
                "clusterPoolIPv6PodCIDRList): \"fd00::/zz\" is not a CIDR"));
    for (List<String> c : cases) {
      Path log = Files.createTempFile("ipam-bad-config", ".log");
      try {
        Process p =
            new ProcessBuilder(
                    java,
                    c.get(0),
                    "-Dporin.tls.insecure=true",
                    "-Dquarkus.http.port=" + EtcdProcess.freePort(),
                    "-jar",
                    jar.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the service must refuse to start").isTrue();
        assertThat(p.exitValue()).isNotZero();
        assertThat(Files.readString(log)).contains("porin.ipam.cluster-pool").contains(c.get(1));
      } finally {
        Files.deleteIfExists(log);
      }
    }
  }
}
