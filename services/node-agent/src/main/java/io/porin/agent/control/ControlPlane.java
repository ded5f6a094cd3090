package io.porin.agent.control;

import io.grpc.ManagedChannel;
import io.porin.api.identity.v1.AllocateRequest;
import io.porin.api.identity.v1.IdentitiesGrpc;
import io.porin.api.identity.v1.KeepAliveRequest;
import io.porin.api.identity.v1.ReleaseRequest;
import io.porin.api.ipam.v1.AllocateNodeRequest;
import io.porin.api.ipam.v1.IpamGrpc;
import io.porin.api.ipam.v1.NodeCidrs;
import io.porin.api.policy.v1.PoliciesGrpc;
import io.porin.service.tls.ClusterChannels;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** The agent's clients of the identity, IPAM and policy services. */
public final class ControlPlane implements IdentityClient, AutoCloseable {
  private static final long DEADLINE_SECONDS = 5;

  private final ManagedChannel identity;
  private final ManagedChannel ipam;
  private final ManagedChannel policy;
  private final String identityTarget;
  private final String ipamTarget;
  private final String policyTarget;
  private final Optional<ClusterTls> tls;

  /**
   * Channels to the three services; each must prove its identity ({@code svc/identity}, ...) with a
   * certificate of the cluster CA, and sees this agent's own certificate ({@code tls} empty:
   * plaintext, for development).
   */
  public ControlPlane(
      String identityTarget, String ipamTarget, String policyTarget, Optional<ClusterTls> tls) {
    this.identityTarget = identityTarget;
    this.ipamTarget = ipamTarget;
    this.policyTarget = policyTarget;
    this.tls = tls;
    identity = channel(identityTarget, tls, "identity");
    ipam = channel(ipamTarget, tls, "ipam");
    policy = channel(policyTarget, tls, "policy");
  }

  /**
   * Forgets the policy channel's connection backoff (grpc-java waits up to two minutes between
   * attempts by itself): the next call connects at once.
   */
  public void resetPolicyBackoff() {
    policy.resetConnectBackoff();
  }

  private static ManagedChannel channel(String target, Optional<ClusterTls> tls, String service) {
    return ClusterChannels.renewing(target, tls, PeerIdentity.service(service), 64 * 1024 * 1024);
  }

  /**
   * Runs {@code r} after this agent's certificate was renewed (its channels already go idle, so
   * that new calls use the renewed certificate): owners of streams move them then.
   */
  public AutoCloseable onRenewed(Runnable r) {
    return tls.map(t -> t.onRenewed(r)).orElse(() -> {});
  }

  public String ipamTarget() {
    return ipamTarget;
  }

  public String policyTarget() {
    return policyTarget;
  }

  /** This node's pod CIDRs (allocated on first call, the same ever after). */
  public NodeCidrs allocateNode(String node) {
    return IpamGrpc.newBlockingStub(ClusterChannels.reviving(ipam))
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
        .allocateNode(AllocateNodeRequest.newBuilder().setNode(node).build());
  }

  @Override
  public int allocate(List<String> labels, String owner) {
    return IdentitiesGrpc.newBlockingStub(ClusterChannels.reviving(identity))
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
        .allocate(AllocateRequest.newBuilder().addAllLabels(labels).setOwner(owner).build())
        .getIdentity()
        .getId();
  }

  @Override
  public boolean release(int id, String owner) {
    return IdentitiesGrpc.newBlockingStub(ClusterChannels.reviving(identity))
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
        .release(ReleaseRequest.newBuilder().setId(id).setOwner(owner).build())
        .getReleased();
  }

  @Override
  public long keepAlive(String owner) {
    return IdentitiesGrpc.newBlockingStub(ClusterChannels.reviving(identity))
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
        .keepAlive(KeepAliveRequest.newBuilder().setOwner(owner).build())
        .getTtlSeconds();
  }

  /** The identity service, for streams (Watch). */
  public IdentitiesGrpc.IdentitiesStub identities() {
    return IdentitiesGrpc.newStub(ClusterChannels.reviving(identity));
  }

  public PoliciesGrpc.PoliciesStub policies() {
    return PoliciesGrpc.newStub(ClusterChannels.reviving(policy));
  }

  @Override
  public void close() {
    for (ManagedChannel c : List.of(identity, ipam, policy)) {
      c.shutdownNow();
    }
  }
}
