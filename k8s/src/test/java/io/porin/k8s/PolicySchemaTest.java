package io.porin.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.core.resource.ResourceException;
import io.porin.core.resource.ResourceParser;
import io.porin.core.resource.YamlDocuments;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CRDs' schemas and Porin's parser agree on the Cilium policies users and tests write: every
 * seed example and every example validates against the CRD; every policy the tests use (the YAML
 * text blocks of the test sources) that the parser accepts validates too, and one the schema
 * refuses the parser refuses as well; a typo'd field is refused by both.
 */
class PolicySchemaTest {
  static final Pattern TEXT_BLOCK = Pattern.compile("\"\"\"[ \\t]*\\n(.*?)\"\"\"", Pattern.DOTALL);

  record Doc(String source, Map<String, Object> tree) {
    String kind() {
      return String.valueOf(tree.get("kind"));
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> schema(Manifests m, String kind) {
    for (Map<String, Object> t : m.trees) {
      if (!"CustomResourceDefinition".equals(t.get("kind"))) {
        continue;
      }
      var spec = (Map<String, Object>) t.get("spec");
      if (kind.equals(((Map<String, Object>) spec.get("names")).get("kind"))) {
        var version = ((List<Map<String, Object>>) spec.get("versions")).getFirst();
        return (Map<String, Object>)
            ((Map<String, Object>) version.get("schema")).get("openAPIV3Schema");
      }
    }
    throw new AssertionError("no CRD for " + kind);
  }

  static final Map<String, Map<String, Object>> SCHEMAS = schemas(Manifests.render("dev"));

  static Map<String, Map<String, Object>> schemas(Manifests m) {
    return Map.of(
        "CiliumNetworkPolicy", schema(m, "CiliumNetworkPolicy"),
        "CiliumClusterwideNetworkPolicy", schema(m, "CiliumClusterwideNetworkPolicy"));
  }

  @SuppressWarnings("unchecked")
  static List<Doc> documents(String source, String yaml) {
    List<Doc> out = new ArrayList<>();
    for (YamlDocuments.Document d : YamlDocuments.read(yaml)) {
      if (d.syntaxError() == null
          && d.tree() instanceof Map<?, ?> m
          && SCHEMAS.containsKey(String.valueOf(m.get("kind")))) {
        out.add(new Doc(source + " #" + d.index(), (Map<String, Object>) m));
      }
    }
    return out;
  }

  static List<Doc> fromFiles(Path dir) throws IOException {
    List<Doc> out = new ArrayList<>();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        out.addAll(documents(Manifests.REPO.relativize(f).toString(), Files.readString(f)));
      }
    }
    return out;
  }

  /**
   * The Cilium policies in the text blocks of the project's Java sources (tests, the CLI's suite).
   */
  static List<Doc> fromJavaTextBlocks() throws IOException {
    List<Doc> out = new ArrayList<>();
    try (Stream<Path> files = Files.walk(Manifests.REPO)) {
      for (Path f :
          files
              .filter(p -> p.toString().endsWith(".java"))
              .filter(
                  p -> !p.toString().contains("/target/") && !p.toString().contains("/k8s/src/"))
              .sorted()
              .toList()) {
        String text = Files.readString(f);
        if (!text.contains("kind: Cilium")) {
          continue;
        }
        Matcher m = TEXT_BLOCK.matcher(text);
        while (m.find()) {
          String block;
          try {
            block = m.group(1).stripIndent().translateEscapes();
          } catch (IllegalArgumentException e) {
            continue;
          }
          if (block.contains("kind: Cilium") && !block.contains("%")) {
            out.addAll(
                documents(Manifests.REPO.relativize(f) + ":" + lineOf(text, m.start()), block));
          }
        }
      }
    }
    return out;
  }

  static int lineOf(String text, int offset) {
    return (int) text.substring(0, offset).chars().filter(c -> c == '\n').count() + 1;
  }

  static List<String> schemaErrors(Doc d) {
    return StructuralSchema.check(SCHEMAS.get(d.kind()), d.tree());
  }

  static boolean parserAccepts(Doc d) {
    try {
      ResourceParser.parseDocument(d.tree(), d.source());
      return true;
    } catch (ResourceException e) {
      return false;
    }
  }

  @Test
  void everySeedExampleAndExampleValidates() throws IOException {
    List<Doc> docs = fromFiles(Manifests.REPO.resolve("examples"));
    assertThat(docs).hasSizeGreaterThan(25);
    List<String> problems = new ArrayList<>();
    for (Doc d : docs) {
      schemaErrors(d).forEach(e -> problems.add(d.source() + ": " + e));
    }
    assertThat(problems).isEmpty();
  }

  @Test
  void everyTestPolicyTheParserAcceptsValidatesAndWhatTheSchemaRefusesTheParserRefuses()
      throws IOException {
    List<Doc> docs = fromJavaTextBlocks();
    List<String> problems = new ArrayList<>();
    int accepted = 0;
    for (Doc d : docs) {
      List<String> errors = schemaErrors(d);
      boolean parsed = parserAccepts(d);
      if (parsed) {
        accepted++;
        errors.forEach(
            e -> problems.add(d.source() + ": the parser accepts it, the CRD refuses " + e));
      }
    }
    assertThat(problems).isEmpty();
    // not vacuous: the tests' policies are found and read (typos: the test below)
    assertThat(accepted).isGreaterThan(40);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "endpointSelecter: {}\n  ingress: []",
        "endpointSelector: {}\n  ingress:\n    - fromEndpoint: [{}]",
        "endpointSelector: {}\n  egress:\n    - toPorts:\n        - ports: [{port: \"80\", protocl: TCP}]",
        "endpointSelector: {matchLabel: {app: x}}\n  ingress: []",
        "endpointSelector: {}\n  ingress:\n    - toPorts:\n        - port: \"80\"",
      })
  void aTypoOrAWrongTypeIsRefusedByTheSchemaAndByTheParser(String spec) {
    String yaml =
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: n}\nspec:\n  "
            + spec
            + "\n";
    Doc d = documents("typo", yaml).getFirst();
    assertThat(schemaErrors(d)).isNotEmpty();
    assertThat(parserAccepts(d)).isFalse();
  }

  static {
    if (!Files.isDirectory(Manifests.REPO.resolve("examples"))) {
      throw new UncheckedIOException(new IOException("no examples/ under " + Manifests.REPO));
    }
  }
}
