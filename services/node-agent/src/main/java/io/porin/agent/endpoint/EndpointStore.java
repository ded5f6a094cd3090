package io.porin.agent.endpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Endpoint and pod IP state on disk, under the agent's state directory: one JSON file per endpoint,
 * one file of allocations per address family. Every write goes to a temporary file first and is
 * moved into place, so a crash never leaves half a file.
 */
public final class EndpointStore {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path endpoints;
  private final Path root;

  public EndpointStore(Path stateDir) throws IOException {
    this.root = stateDir;
    this.endpoints = stateDir.resolve("endpoints");
    Files.createDirectories(endpoints);
  }

  public List<Endpoint> load() throws IOException {
    List<Endpoint> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(endpoints)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
        out.add(JSON.readValue(f.toFile(), Endpoint.class));
      }
    }
    return out;
  }

  public void save(Endpoint e) {
    write(endpoints.resolve(e.id() + ".json"), toJson(e));
  }

  public void delete(int endpointId) {
    try {
      Files.deleteIfExists(endpoints.resolve(endpointId + ".json"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The pod IP allocations of one family, kept in {@code ipam-<family>.json}. */
  public io.porin.core.ipam.PodIpAllocator.Store ipStore(String family) {
    Path file = root.resolve("ipam-" + family + ".json");
    return new io.porin.core.ipam.PodIpAllocator.Store() {
      private final Map<String, BigInteger> saved = new HashMap<>();

      @Override
      public synchronized Map<String, BigInteger> load() {
        saved.clear();
        if (Files.exists(file)) {
          try {
            Map<?, ?> raw = JSON.readValue(file.toFile(), Map.class);
            raw.forEach((k, v) -> saved.put((String) k, new BigInteger((String) v)));
          } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
          }
        }
        return Map.copyOf(saved);
      }

      @Override
      public synchronized void save(String owner, BigInteger address) {
        saved.put(owner, address);
        flush();
      }

      @Override
      public synchronized void delete(String owner) {
        if (saved.remove(owner) != null) {
          flush();
        }
      }

      private void flush() {
        Map<String, String> out = new HashMap<>();
        saved.forEach((k, v) -> out.put(k, v.toString()));
        write(file, toJson(out));
      }
    };
  }

  private static String toJson(Object o) {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void write(Path file, String text) {
    try {
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(tmp, text);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
