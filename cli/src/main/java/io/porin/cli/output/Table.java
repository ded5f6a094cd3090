package io.porin.cli.output;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * A plain-text table as {@code cilium} prints them: upper-case headers, columns separated by at
 * least three spaces; a cell with several lines continues on the following lines with the other
 * cells blank (as {@code cilium identity list} prints labels).
 */
public final class Table {
  private final List<String> headers;
  private final List<List<List<String>>> rows = new ArrayList<>();

  public Table(String... headers) {
    this.headers = List.of(headers);
  }

  /** Adds a row; each cell is one or more lines. */
  public Table row(List<List<String>> cells) {
    if (cells.size() != headers.size()) {
      throw new IllegalArgumentException(
          "row has " + cells.size() + " cells, table " + headers.size());
    }
    rows.add(cells);
    return this;
  }

  /** Adds a row of single-line cells. */
  public Table row(String... cells) {
    List<List<String>> c = new ArrayList<>();
    for (String s : cells) {
      c.add(List.of(s));
    }
    return row(c);
  }

  public void print(PrintWriter out) {
    int[] width = new int[headers.size()];
    for (int i = 0; i < headers.size(); i++) {
      width[i] = headers.get(i).length();
      for (List<List<String>> r : rows) {
        for (String line : r.get(i)) {
          width[i] = Math.max(width[i], line.length());
        }
      }
    }
    line(out, headers, width);
    for (List<List<String>> r : rows) {
      int height = r.stream().mapToInt(c -> Math.max(1, c.size())).max().orElse(1);
      for (int l = 0; l < height; l++) {
        List<String> cells = new ArrayList<>();
        for (List<String> c : r) {
          cells.add(l < c.size() ? c.get(l) : "");
        }
        line(out, cells, width);
      }
    }
    out.flush();
  }

  private static void line(PrintWriter out, List<String> cells, int[] width) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      sb.append(cells.get(i));
      if (i < cells.size() - 1) {
        sb.append(" ".repeat(width[i] - cells.get(i).length() + 3));
      }
    }
    out.println(sb.toString().stripTrailing());
  }
}
