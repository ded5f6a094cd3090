package io.porin.cli.lab;

import io.porin.api.resource.v1.ListRequest;
import io.porin.api.resource.v1.ResourcesGrpc;
import io.porin.api.resource.v1.StoredResource;
import io.porin.cli.GlobalOptions;
import io.porin.lab.Installation;
import io.porin.lab.PodRuntime;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;

/**
 * After {@code porin apply} or {@code porin delete} in a lab's context: the lab's runtime runs
 * exactly the Pods the store now holds (what the kubelet does after the API server changes).
 */
public final class LabPods {
  private LabPods() {}

  /**
   * Syncs the context's lab, if it is one.
   *
   * @return how many pods could not be started (each reported)
   */
  public static int sync(CommandSpec spec, ResourcesGrpc.ResourcesBlockingStub stub) {
    String lab = GlobalOptions.of(spec).context().context().lab();
    if (lab == null) {
      return 0;
    }
    List<PodRuntime.PodSpec> pods =
        stub.list(ListRequest.newBuilder().setKind("pods").build()).getResourcesList().stream()
            .map(StoredResource::getJson)
            .map(PodRuntime.PodSpec::fromJson)
            .toList();
    Map<String, String> failed =
        new PodRuntime(
                io.porin.cli.Env.labDirectory(), Installation.find(), LabCommand.progress(spec))
            .sync(lab, pods);
    return failed.size();
  }
}
