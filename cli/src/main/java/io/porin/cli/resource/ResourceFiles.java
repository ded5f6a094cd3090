package io.porin.cli.resource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The files named by {@code -f}: files, directories (their .yaml, .yml, .json files) or "-". */
final class ResourceFiles {
  record Input(String name, String text) {}

  private ResourceFiles() {}

  /**
   * Reads every input in order.
   *
   * @throws IOException naming the file that cannot be read
   */
  static List<Input> read(List<String> names, InputStream stdin) throws IOException {
    List<Input> out = new ArrayList<>();
    for (String name : names) {
      if (name.equals("-")) {
        out.add(new Input("<stdin>", new String(stdin.readAllBytes(), StandardCharsets.UTF_8)));
        continue;
      }
      Path p = Path.of(name);
      if (Files.isDirectory(p)) {
        try (Stream<Path> files = Files.list(p)) {
          for (Path f :
              files
                  .filter(Files::isRegularFile)
                  .filter(f -> f.toString().matches(".*\\.(yaml|yml|json)"))
                  .sorted()
                  .toList()) {
            out.add(new Input(f.toString(), Files.readString(f)));
          }
        }
      } else if (Files.isRegularFile(p)) {
        out.add(new Input(name, Files.readString(p)));
      } else {
        throw new IOException(name + ": no such file or directory");
      }
    }
    return out;
  }
}
