package io.porin.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.porin.api.identity.v1.AllocateRequest;
import io.porin.api.identity.v1.IdentitiesGrpc;
import io.porin.kvstore.testing.EtcdProcess;
import io.porin.kvstore.testing.TestPki;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two packaged identity-service replicas and the porin command, used from outside. */
class IdentityE2EIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void twoReplicaProcessesAgreeAndAKilledReplicaComesBackWithTheSameIdentities() throws Exception {
    TestPki pki = TestPki.cluster();
    try (EtcdProcess etcd =
            EtcdProcess.startSecure("e2e", pki, List.of(PeerIdentity.service("identity")));
        IdentityServiceProcess a =
            new IdentityServiceProcess(
                    EtcdProcess.freePort(), etcd.endpoint(), tmp.resolve("a.log"), pki)
                .start();
        IdentityServiceProcess b =
            new IdentityServiceProcess(
                    EtcdProcess.freePort(), etcd.endpoint(), tmp.resolve("b.log"), pki)
                .start()) {
      List<List<String>> sets = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        sets.add(List.of("k8s:app=svc-" + i, "k8s:io.kubernetes.pod.namespace=team-" + (i % 5)));
      }
      Map<String, Integer> viaA = allocateAll(a.port(), "node-a", sets);
      Map<String, Integer> viaB = allocateAll(b.port(), "node-b", sets);
      assertThat(viaA).hasSize(200).isEqualTo(viaB);

      Path config = tmp.resolve("config");
      Map<String, String> env = Map.of("PORIN_CONFIG", config.toString());
      Repo.run(
          env,
          Repo.Duration.ofSeconds(60),
          "bin/porin",
          "context",
          "set",
          "b",
          "--identity",
          "127.0.0.1:" + b.port(),
          "--ca",
          pki.caFile().toString(),
          "--cert",
          pki.bundle(TestPki.ADMIN).toString(),
          "--use");
      Repo.Result list =
          Repo.run(env, Repo.Duration.ofSeconds(60), "bin/porin", "identity", "list", "-o", "json");
      assertThat(list.exitCode()).as(list.stderr()).isZero();
      assertThat(JSON.readTree(list.stdout())).hasSize(210);
      Repo.Result table =
          Repo.run(env, Repo.Duration.ofSeconds(60), "bin/porin", "identity", "list");
      assertThat(table.stdout().lines().findFirst()).contains("ID       LABELS");

      a.kill();
      a.start();
      assertThat(allocateAll(a.port(), "node-a", sets)).isEqualTo(viaA);
      int one = viaA.get(String.join(",", sets.getFirst()));
      Repo.Result get =
          Repo.run(
              env,
              Repo.Duration.ofSeconds(60),
              "bin/porin",
              "identity",
              "get",
              Integer.toString(one));
      assertThat(get.stdout()).contains(Integer.toString(one), "k8s:app=svc-0");
      Repo.Result missing =
          Repo.run(env, Repo.Duration.ofSeconds(60), "bin/porin", "identity", "get", "4242");
      assertThat(missing.exitCode()).isEqualTo(1);
      assertThat(missing.stderr()).contains("NOT_FOUND", "identity 4242 does not exist");
    }
  }

  /** Allocates every set through one replica, 8 calls in flight. */
  private static Map<String, Integer> allocateAll(int port, String owner, List<List<String>> sets)
      throws Exception {
    ClusterTls tls = TestPki.cluster().tls(TestPki.ADMIN);
    ManagedChannel ch =
        Grpc.newChannelBuilderForAddress(
                "127.0.0.1",
                port,
                TlsChannelCredentials.newBuilder()
                    .keyManager(tls.keyManager())
                    .trustManager(
                        tls.serverTrust(
                            ClusterTls.exactly(PeerIdentity.service("identity")), "svc/identity"))
                    .build())
            .build();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      var stub = IdentitiesGrpc.newBlockingStub(ch);
      Map<String, Integer> out = new ConcurrentHashMap<>();
      List<Future<?>> fs = new ArrayList<>();
      for (List<String> s : sets) {
        fs.add(
            pool.submit(
                () ->
                    out.put(
                        String.join(",", s),
                        stub.withDeadlineAfter(20, TimeUnit.SECONDS)
                            .allocate(
                                AllocateRequest.newBuilder()
                                    .setOwner(owner)
                                    .addAllLabels(s)
                                    .build())
                            .getIdentity()
                            .getId())));
      }
      for (Future<?> f : fs) {
        f.get(60, TimeUnit.SECONDS);
      }
      return new HashMap<>(out);
    } finally {
      pool.shutdownNow();
      ch.shutdownNow();
    }
  }
}
