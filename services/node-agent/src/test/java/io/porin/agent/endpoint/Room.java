package io.porin.agent.endpoint;

import io.porin.agent.policy.Cookies;
import io.porin.agent.policy.PolicyTranslator;
import io.porin.agent.testing.FakeDatapath;
import io.porin.agent.testing.FakeIdentityClient;
import io.porin.agent.testing.FakeLocalIpcache;
import io.porin.agent.testing.FakePodLabels;
import io.porin.agent.testing.FakePodWiring;
import io.porin.agent.testing.FakePolicySource;
import io.porin.agent.testing.FakePublication;
import io.porin.agent.testing.Journal;
import io.porin.core.ipam.Cidr;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The agent's endpoint room wired to fakes: everything but the kernel and the services. */
final class Room {
  static final String NODE = "node1";

  final Journal journal = new Journal();
  final FakeDatapath datapath = new FakeDatapath(journal);
  final FakePodWiring wiring = new FakePodWiring(journal);
  final FakeIdentityClient identities = new FakeIdentityClient();
  final FakePublication publication = new FakePublication(journal);
  final FakeLocalIpcache ipcache = new FakeLocalIpcache(journal);
  final FakePolicySource policies = new FakePolicySource();
  final FakePodLabels labels = new FakePodLabels();
  final Endpoints endpoints = new Endpoints();
  final Path state;
  final Revisions revisions;
  final PolicyEnforcer enforcer;
  final EndpointLifecycle.Parts parts;
  final EndpointLifecycle lifecycle;
  private int pods;

  Room(Path state) {
    this.state = state;
    revisions = new Revisions(datapath);
    enforcer = new PolicyEnforcer(datapath, new PolicyTranslator(new Cookies()), revisions);
    try {
      parts =
          new EndpointLifecycle.Parts(
              NodeAddresses.of(NODE, Cidr.parse("10.1.0.0/24"), Cidr.parse("fd00:1::/112")),
              datapath,
              wiring,
              new EndpointStore(state),
              labels,
              new IdentityReferences(identities, NODE, endpoints),
              new EndpointAnnouncer(NODE, datapath, ipcache, publication),
              enforcer,
              endpoints,
              512,
              20,
              1500);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    lifecycle = new EndpointLifecycle(parts);
    lifecycle.setPolicies(policies);
  }

  /** A pod's CNI request (its labels as given). */
  PodRequest pod(String namespace, String name, String... podLabels) {
    labels.pod(namespace, name, podLabels);
    pods++;
    return new PodRequest(
        "c" + pods + "-" + name, "/var/run/netns/" + name, "eth0", namespace, name);
  }

  /** The identity the fakes give a pod with these labels in this namespace. */
  int identityOf(String namespace, String name) {
    return identities.idOf(labels.labels(namespace, name).labels().strings());
  }

  LiveEndpoint add(PodRequest r) {
    return lifecycle.add(r);
  }
}
