package io.porin.clustermesh.wiring;

import io.porin.clustermesh.config.MeshConfig;
import io.porin.clustermesh.imports.PeerImporter;
import io.porin.core.ipam.Cidr;
import io.porin.core.mesh.ClusterInfo;
import io.porin.kvstore.KvStore;
import io.porin.service.cluster.ClusterConfig;
import io.porin.service.tls.AccessRules;
import io.porin.service.tls.AccessTable;
import io.porin.service.tls.ServiceTls;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** What the clustermesh service is made of. */
public class MeshWiring {

  /** The etcd client of this cluster. */
  @Produces
  @Singleton
  KvStore kvStore(MeshConfig config, ServiceTls tls) {
    return KvStore.connect(
        config.etcd().endpoints(), config.etcd().timeout(), tls.cluster().orElse(null));
  }

  void closeKvStore(@Disposes KvStore kv) {
    kv.close();
  }

  /** This cluster as its peers see it; a bad name, ID or CIDR stops start-up, named. */
  @Produces
  @Singleton
  ClusterInfo self(MeshConfig config, ClusterConfig cluster) {
    String name = ClusterConfig.checked(cluster);
    List<Cidr> cidrs = new ArrayList<>();
    for (String c : config.clustermesh().podCidrs().orElse(List.of())) {
      try {
        cidrs.add(Cidr.parse(c.strip()));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "porin.clustermesh.pod-cidrs: \"" + c + "\" is not a CIDR: " + e.getMessage(), e);
      }
    }
    ClusterInfo self = new ClusterInfo(name, config.clustermesh().clusterId(), cidrs);
    List<String> problems = self.problems();
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          "this cluster cannot be in a mesh: "
              + String.join("; ", problems)
              + " (porin.cluster.name, porin.clustermesh.cluster-id)");
    }
    return self;
  }

  /** The same, on the wire. */
  @Produces
  @Singleton
  io.porin.api.mesh.v1.ClusterInfo selfOnTheWire(ClusterInfo self, MeshConfig config) {
    return io.porin.api.mesh.v1.ClusterInfo.newBuilder()
        .setName(self.name())
        .setId(self.id())
        .addAllPodCidrs(self.podCidrs().stream().map(Cidr::toString).toList())
        .addAllCapabilities(config.clustermesh().capabilities().orElse(List.of()))
        .build();
  }

  /** One importer per configured peer, started with the service. */
  @Produces
  @Singleton
  @Startup
  List<PeerImporter> importers(MeshConfig config, ClusterInfo self, KvStore kv, ServiceTls tls) {
    List<PeerImporter> out = new ArrayList<>();
    java.util.Set<String> names = new java.util.HashSet<>();
    Map<String, java.nio.file.Path> cas = peerCas(config);
    for (String p : config.clustermesh().peers().orElse(List.of())) {
      int eq = p.indexOf('=');
      if (eq <= 0 || eq == p.length() - 1) {
        throw new IllegalArgumentException(
            "porin.clustermesh.peers: \"" + p + "\" is not name=host:port");
      }
      String name = p.substring(0, eq).strip();
      List<String> problems = ClusterInfo.nameProblems(name);
      if (!problems.isEmpty()) {
        throw new IllegalArgumentException(
            "porin.clustermesh.peers: \"" + p + "\": " + String.join("; ", problems));
      }
      if (!names.add(name)) {
        throw new IllegalArgumentException(
            "porin.clustermesh.peers: cluster \"" + name + "\" is named twice");
      }
      java.util.Optional<io.porin.tls.ClusterTls> peerTls = tls.cluster();
      if (peerTls.isPresent()) {
        java.nio.file.Path ca = cas.get(name);
        if (ca == null) {
          throw new IllegalArgumentException(
              "porin.clustermesh.peer-cas: no CA for cluster \""
                  + name
                  + "\" (name=/path/to/its-ca.crt): its clustermesh service is trusted by"
                  + " its own CA only");
        }
        peerTls = java.util.Optional.of(peerTls.get().trusting(ca));
      }
      out.add(
          new PeerImporter(name, p.substring(eq + 1).strip(), self, kv, peerTls)
              .maxKeys(config.clustermesh().maxKeysPerPeer()));
    }
    out.forEach(PeerImporter::start);
    return List.copyOf(out);
  }

  private static Map<String, java.nio.file.Path> peerCas(MeshConfig config) {
    Map<String, java.nio.file.Path> out = new java.util.HashMap<>();
    for (String c : config.clustermesh().peerCas().orElse(List.of())) {
      int eq = c.indexOf('=');
      if (eq <= 0 || eq == c.length() - 1) {
        throw new IllegalArgumentException(
            "porin.clustermesh.peer-cas: \"" + c + "\" is not name=/path/to/ca.crt");
      }
      out.put(c.substring(0, eq).strip(), java.nio.file.Path.of(c.substring(eq + 1).strip()));
    }
    return out;
  }

  void closeImporters(@Disposes List<PeerImporter> importers) {
    importers.forEach(PeerImporter::close);
  }

  /**
   * Who may call: services (the peers' clustermesh services, whose CAs this service was given, and
   * this cluster's own) and admins; nodes and readers of any cluster may not read what the cluster
   * exports through here.
   */
  @Produces
  @Singleton
  AccessRules accessRules() {
    return AccessTable.of(
        Map.of(
            "porin.mesh.v1.ClusterMesh/*",
            java.util.Set.of(
                io.porin.tls.PeerIdentity.Kind.SERVICE, io.porin.tls.PeerIdentity.Kind.ADMIN)));
  }
}
