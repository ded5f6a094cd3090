package io.porin.core.resource;

import java.util.ArrayList;
import java.util.List;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * Splits YAML (or JSON, which YAML 1.2 contains) text into documents and reads each into plain
 * {@code java.util} maps, lists, strings, numbers and booleans. The only class in core that sees a
 * YAML library. Documents are read one by one, so a syntax error in one never hides the others.
 */
public final class YamlDocuments {

  /** One document: its 1-based position in the file, its first line, and its tree or error. */
  public record Document(int index, int line, Object tree, String syntaxError) {
    public boolean hasSyntaxError() {
      return syntaxError != null;
    }
  }

  private YamlDocuments() {}

  /**
   * The documents of the text, in order. Documents that hold nothing (only comments or white space)
   * are left out, as kubectl does.
   */
  public static List<Document> read(String text) {
    List<Document> out = new ArrayList<>();
    String[] lines = text.split("\r?\n", -1);
    StringBuilder chunk = new StringBuilder();
    int chunkStart = 1;
    for (int i = 0; i <= lines.length; i++) {
      boolean separator = i < lines.length && lines[i].matches("---\\s*(#.*)?");
      if (i == lines.length || separator) {
        addChunk(out, chunk.toString(), chunkStart);
        chunk.setLength(0);
        chunkStart = i + 2;
      } else {
        chunk.append(lines[i]).append('\n');
      }
    }
    return out;
  }

  private static void addChunk(List<Document> out, String chunk, int firstLine) {
    if (chunk.lines().allMatch(l -> l.isBlank() || l.strip().startsWith("#"))) {
      return;
    }
    int index = out.size() + 1;
    try {
      Object tree =
          new Load(LoadSettings.builder().setAllowDuplicateKeys(false).build())
              .loadFromString(chunk);
      out.add(new Document(index, firstLine, tree, null));
    } catch (MarkedYamlEngineException e) {
      int line = e.getProblemMark().map(m -> m.getLine() + firstLine).orElse(firstLine);
      out.add(new Document(index, firstLine, null, "line " + line + ": " + e.getProblem()));
    } catch (YamlEngineException e) {
      out.add(new Document(index, firstLine, null, e.getMessage()));
    }
  }
}
