package io.porin.agent.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.StructLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every Java layout and constant against the C header it mirrors. The probe is generated from the
 * Java side (every struct, field and constant {@link MapLayouts} declares) and compiled with clang
 * against {@code porin_maps.h}: a field or constant C lacks fails to compile, and the probe prints
 * sizes, offsets and values as C sees them. The header's struct names are read too, so a struct
 * Java lacks fails as well.
 */
class MapLayoutsTest {
  private static final Path MODULE = Path.of("").toAbsolutePath();
  private static final Path HEADER = MODULE.resolve("src/main/bpf/porin_maps.h");
  private static final Map<String, Long> SIZES = new HashMap<>();
  private static final Map<String, long[]> FIELDS = new HashMap<>();
  private static final Map<String, Long> CONSTANTS = new HashMap<>();

  /** The libbpf option structs the agent fills: checked field by field as far as they go. */
  private static final Map<String, StructLayout> LIBBPF =
      new LinkedHashMap<>(
          Map.of(
              "bpf_object_open_opts", LibbpfLayouts.OBJECT_OPEN_OPTS,
              "bpf_tc_hook", LibbpfLayouts.TC_HOOK,
              "bpf_tc_opts", LibbpfLayouts.TC_OPTS,
              "bpf_map_batch_opts", LibbpfLayouts.MAP_BATCH_OPTS,
              "bpf_map_create_opts", LibbpfLayouts.MAP_CREATE_OPTS,
              "bpf_test_run_opts", LibbpfLayouts.TEST_RUN_OPTS));

  @BeforeAll
  static void probe() throws Exception {
    Path dir = Files.createTempDirectory("porin-layout-probe");
    try {
      Path source = dir.resolve("probe.c");
      Files.writeString(source, probeSource());
      Path exe = dir.resolve("probe");
      Process cc =
          new ProcessBuilder(
                  "clang",
                  "-o",
                  exe.toString(),
                  "-I",
                  MODULE.resolve("src/main/bpf").toString(),
                  source.toString())
              .redirectErrorStream(true)
              .start();
      String ccOut = new String(cc.getInputStream().readAllBytes());
      assertThat(cc.waitFor()).as("clang: " + ccOut).isZero();
      Process run = new ProcessBuilder(exe.toString()).redirectErrorStream(true).start();
      for (String line : new String(run.getInputStream().readAllBytes()).split("\n")) {
        String[] f = line.split(" ");
        switch (f[0]) {
          case "struct" -> SIZES.put(f[1], Long.parseLong(f[2]));
          case "field" ->
              FIELDS.put(
                  f[1] + "." + f[2], new long[] {Long.parseLong(f[3]), Long.parseLong(f[4])});
          case "const" -> CONSTANTS.put(f[1], Long.parseLong(f[2]));
          default -> throw new AssertionError("unexpected probe line " + line);
        }
      }
      assertThat(run.waitFor()).isZero();
    } finally {
      try (var walk = Files.walk(dir)) {
        for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /** A C program printing what C says of every struct, field and constant Java declares. */
  private static String probeSource() {
    StringBuilder c = new StringBuilder();
    c.append("#include <stddef.h>\n#include <stdio.h>\n#include <bpf/bpf.h>\n")
        .append("#include <bpf/libbpf.h>\n#include \"porin_maps.h\"\n")
        .append("int main(void)\n{\n");
    List<Map.Entry<String, StructLayout>> structs = new ArrayList<>();
    MapLayouts.ALL.forEach(l -> structs.add(Map.entry(l.name().orElseThrow(), l)));
    structs.addAll(LIBBPF.entrySet());
    for (Map.Entry<String, StructLayout> s : structs) {
      String t = s.getKey();
      c.append("printf(\"struct %s %zu\\n\", \"")
          .append(t)
          .append("\", sizeof(struct ")
          .append(t)
          .append("));\n");
      for (MemoryLayout m : s.getValue().memberLayouts()) {
        if (m instanceof PaddingLayout || m.name().isEmpty() || skipped(t, m.name().get())) {
          continue;
        }
        String f = m.name().get();
        c.append("printf(\"field %s %s %zu %zu\\n\", \"")
            .append(t)
            .append("\", \"")
            .append(f)
            .append("\", offsetof(struct ")
            .append(t)
            .append(", ")
            .append(f)
            .append("), sizeof(((struct ")
            .append(t)
            .append(" *)0)->")
            .append(f)
            .append("));\n");
      }
    }
    for (String name : MapLayouts.CONSTANTS.keySet()) {
      c.append("printf(\"const %s %ld\\n\", \"")
          .append(name)
          .append("\", (long)(PORIN_")
          .append(name)
          .append("));\n");
    }
    return c.append("return 0;\n}\n").toString();
  }

  /** Fields of libbpf structs that are libbpf's internals (not set by the agent). */
  private static boolean skipped(String struct, String field) {
    return struct.startsWith("bpf_") && field.startsWith("pad");
  }

  @Test
  void everyMapStructMatchesTheHeader() throws Exception {
    for (StructLayout l : MapLayouts.ALL) {
      check(l.name().orElseThrow(), l);
    }
    // and the header declares no porin struct that Java lacks
    List<String> header = new ArrayList<>();
    Matcher m = Pattern.compile("struct (porin_\\w+) \\{").matcher(Files.readString(HEADER));
    while (m.find()) {
      header.add(m.group(1));
    }
    assertThat(MapLayouts.ALL.stream().map(l -> l.name().orElseThrow()))
        .containsExactlyInAnyOrderElementsOf(header);
  }

  @Test
  void libbpfOptionStructsMatchLibbpf() {
    LIBBPF.forEach(MapLayoutsTest::check);
  }

  @Test
  void everyConstantMatchesTheHeader() {
    MapLayouts.CONSTANTS.forEach(
        (name, value) ->
            assertThat(CONSTANTS.get(name)).as("PORIN_" + name).isEqualTo((long) value));
  }

  private static void check(String struct, StructLayout l) {
    assertThat(SIZES).as("the probe prints " + struct).containsKey(struct);
    assertThat(l.byteSize()).as("sizeof(struct " + struct + ")").isEqualTo(SIZES.get(struct));
    for (MemoryLayout member : l.memberLayouts()) {
      if (member instanceof PaddingLayout || member.name().isEmpty()) {
        continue;
      }
      String field = member.name().get();
      long[] c = FIELDS.get(struct + "." + field);
      if (c == null) {
        continue; // libbpf internals the probe skips
      }
      long offset = l.byteOffset(MemoryLayout.PathElement.groupElement(field));
      assertThat(offset).as("offsetof(" + struct + ", " + field + ")").isEqualTo(c[0]);
      assertThat(member.byteSize()).as("sizeof(" + struct + "." + field + ")").isEqualTo(c[1]);
    }
  }
}
