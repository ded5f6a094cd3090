package io.porin.agent.testing;

import io.porin.agent.datapath.LoadBalancer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** The load-balancing maps in memory, recording every write. */
public final class FakeLoadBalancer implements LoadBalancer {
  public final Map<Address, Service> frontends = new HashMap<>();
  public final Map<Integer, Address> backends = new TreeMap<>();
  public final Map<Integer, Address> revNat = new TreeMap<>();
  public final Map<Integer, int[]> maglev = new TreeMap<>();
  public final List<String> writes = new ArrayList<>();

  @Override
  public void putBackend(int id, Address backend) {
    backends.put(id, backend);
    writes.add("backend+" + id);
  }

  @Override
  public void deleteBackend(int id) {
    backends.remove(id);
    writes.add("backend-" + id);
  }

  @Override
  public void putRevNat(int id, Address frontend) {
    revNat.put(id, frontend);
    writes.add("revnat+" + id);
  }

  @Override
  public void deleteRevNat(int id) {
    revNat.remove(id);
    writes.add("revnat-" + id);
  }

  @Override
  public void putFrontend(Address frontend, Service service, Service previous) {
    for (int id : service.active()) {
      if (!backends.containsKey(id)) {
        throw new IllegalStateException("slot names backend " + id + " before it exists");
      }
    }
    frontends.put(frontend, service);
    writes.add("frontend+" + frontend);
  }

  @Override
  public void deleteFrontend(Address frontend, Service previous) {
    frontends.remove(frontend);
    writes.add("frontend-" + frontend);
  }

  @Override
  public void putMaglev(int id, int[] backendIds) {
    maglev.put(id, backendIds.clone());
    writes.add("maglev+" + id);
  }

  @Override
  public void deleteMaglev(int id) {
    maglev.remove(id);
    writes.add("maglev-" + id);
  }

  @Override
  public State read() {
    Set<Integer> tables = new TreeSet<>(maglev.keySet());
    return new State(Map.copyOf(frontends), Map.copyOf(backends), Map.copyOf(revNat), tables);
  }
}
