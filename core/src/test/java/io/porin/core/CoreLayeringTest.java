package io.porin.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * core is plain Java: it imports only java.* and itself (ARCHITECTURE.md, STYLE.md). One class may
 * read YAML text into plain maps and lists: {@code resource/YamlDocuments.java}, the only place a
 * YAML library is seen; everything after it works on java.util trees.
 */
class CoreLayeringTest {

  @Test
  void coreImportsOnlyTheJdkAndItself() throws IOException {
    List<String> offenders = new ArrayList<>();
    try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        for (String line : Files.readAllLines(f)) {
          String l = line.strip();
          boolean yamlReader = f.endsWith(Path.of("resource", "YamlDocuments.java"));
          if (l.startsWith("import ")
              && !l.matches("import (static )?(java\\.|io\\.porin\\.core\\.).*")
              && !(yamlReader && l.startsWith("import org.snakeyaml.engine."))) {
            offenders.add(f + ": " + l);
          }
        }
      }
    }
    assertThat(offenders).isEmpty();
  }
}
