package io.porin.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import io.porin.tls.Pem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code porin ca kubernetes} (the real command) prints what the manifests mount: the objects parse
 * strictly, carry the names and keys the workloads' volumes and init containers use, and etcd's
 * certificate is etcd's, for its members' names.
 */
class CaManifestTest {
  @TempDir Path dir;

  @Test
  void theCommandsObjectsAreWhatTheWorkloadsMount() throws Exception {
    Process p =
        new ProcessBuilder(
                Manifests.REPO.resolve("bin/porin").toString(),
                "ca",
                "kubernetes",
                "--dir",
                dir.resolve("ca").toString(),
                "--etcd-address",
                "cp.example.internal")
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    KubernetesList list = new KubernetesSerialization().unmarshal(out, KubernetesList.class);
    List<String> problems = new ArrayList<>();
    for (HasMetadata o : list.getItems()) {
      Strict.unknownFields(o).forEach(f -> problems.add(o.getMetadata().getName() + ": " + f));
      assertThat(o.getMetadata().getNamespace()).isEqualTo(Manifests.NAMESPACE);
    }
    assertThat(problems).isEmpty();
    Map<String, HasMetadata> byName = new java.util.HashMap<>();
    list.getItems().forEach(o -> byName.put(o.getMetadata().getName(), o));
    assertThat(((ConfigMap) byName.get("porin-ca")).getData()).containsOnlyKeys("ca.crt");
    assertThat(((Secret) byName.get("porin-ca-key")).getStringData())
        .containsOnlyKeys("ca.crt", "ca.key");
    String etcdBundle = ((Secret) byName.get("porin-etcd-tls")).getStringData().get("tls.pem");

    // etcd's certificate: svc/etcd of this CA, for its members' names and the address given
    Path bundle = dir.resolve("etcd.pem");
    Pem.writeAtomically(bundle, etcdBundle, true);
    ClusterTls etcd = ClusterTls.load(dir.resolve("ca/ca.crt"), bundle, bundle);
    assertThat(etcd.self()).isEqualTo(PeerIdentity.service("etcd"));
    var sans =
        Pem.read(bundle).certificates().getFirst().getSubjectAlternativeNames().stream()
            .map(s -> String.valueOf(s.get(1)))
            .toList();
    assertThat(sans).contains("*.porin-etcd.porin-system.svc", "cp.example.internal", "127.0.0.1");
    assertThat(Files.readString(dir.resolve("ca/ca.key")))
        .isEqualTo(((Secret) byName.get("porin-ca-key")).getStringData().get("ca.key"));

    // the workloads mount exactly these
    Manifests m = Manifests.render("dev");
    for (Manifests.Workload w : m.workloads()) {
      for (Volume v : w.pod().getVolumes()) {
        if (v.getConfigMap() != null && !v.getConfigMap().getName().startsWith("porin-config")) {
          assertThat(v.getConfigMap().getName()).as(w.name()).isEqualTo("porin-ca");
        }
        if (v.getSecret() != null) {
          String secret = v.getSecret().getSecretName();
          assertThat(byName).as(w.name() + " mounts " + secret).containsKey(secret);
          assertThat(secret)
              .isEqualTo(w.name().equals("porin-identity") ? "porin-ca-key" : "porin-etcd-tls");
        }
      }
    }
    String identityInit =
        String.join(
            " ", m.workload("porin-identity").pod().getInitContainers().getFirst().getCommand());
    assertThat(identityInit).contains("/ca.key", "/ca.crt");
    String etcdInit =
        String.join(
            " ", m.workload("porin-etcd").pod().getInitContainers().getFirst().getCommand());
    assertThat(etcdInit).contains("/tls.pem");
  }
}
