package io.porin.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where labs keep their state: {@code $PORIN_LAB_DIR}, else {@code /var/lib/porin/labs}; one
 * directory per lab with {@code lab.json}, etcd's data, each node's agent state and every log.
 */
public record LabDirectory(Path root) {

  public static LabDirectory fromEnvironment() {
    return fromEnvironment(System::getenv);
  }

  /** As {@link #fromEnvironment()}, with the environment {@code env} gives. */
  public static LabDirectory fromEnvironment(java.util.function.UnaryOperator<String> env) {
    String dir = env.apply("PORIN_LAB_DIR");
    return new LabDirectory(
        dir != null && !dir.isBlank() ? Path.of(dir) : Path.of("/var/lib/porin/labs"));
  }

  public Path of(String lab) {
    return root.resolve(lab);
  }

  public Path stateFile(String lab) {
    return of(lab).resolve("lab.json");
  }

  public Optional<LabState> load(String lab) {
    Path f = stateFile(lab);
    return Files.exists(f) ? Optional.of(LabState.read(f)) : Optional.empty();
  }

  public void save(LabState state) {
    state.write(stateFile(state.name));
  }

  /** The labs on this machine, by name. */
  public List<String> names() {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(root)) {
      return s.filter(p -> Files.exists(p.resolve("lab.json")))
          .map(p -> p.getFileName().toString())
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Takes the lab's lock (one command changes a lab at a time; others wait). The lock file lives in
   * the lab's directory, so removing the lab leaves nothing behind.
   */
  public FileLock lock(String lab) {
    try {
      Files.createDirectories(of(lab));
      FileChannel ch =
          FileChannel.open(
              of(lab).resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      return ch.lock();
    } catch (IOException e) {
      throw new LabException(of(lab) + ": cannot lock: " + e.getMessage());
    }
  }
}
