package io.porin.agent.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.StructLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every Java layout against the C header it mirrors: a probe compiled with clang prints sizes,
 * offsets and constants as C sees them.
 */
class MapLayoutsTest {
  private static final Map<String, Long> SIZES = new HashMap<>();
  private static final Map<String, long[]> FIELDS = new HashMap<>();
  private static final Map<String, Long> CONSTANTS = new HashMap<>();

  @BeforeAll
  static void probe() throws Exception {
    Path module = Path.of("").toAbsolutePath();
    Path exe = Files.createTempFile("porin-layout-probe", "");
    try {
      Process cc =
          new ProcessBuilder(
                  "clang",
                  "-o",
                  exe.toString(),
                  "-I",
                  module.resolve("src/main/bpf").toString(),
                  module.resolve("src/test/c/layout_probe.c").toString())
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
      Files.deleteIfExists(exe);
    }
  }

  @Test
  void everyMapStructMatchesTheHeader() {
    for (StructLayout l : MapLayouts.ALL) {
      check(l.name().orElseThrow(), l);
    }
    // and the probe knows no porin struct that Java lacks
    List<String> javaNames = new ArrayList<>();
    MapLayouts.ALL.forEach(l -> javaNames.add(l.name().orElseThrow()));
    assertThat(SIZES.keySet().stream().filter(n -> n.startsWith("porin_")))
        .containsExactlyInAnyOrderElementsOf(javaNames);
  }

  @Test
  void libbpfOptionStructsMatchLibbpf() {
    check("bpf_object_open_opts", LibbpfLayouts.OBJECT_OPEN_OPTS);
    check("bpf_tc_hook", LibbpfLayouts.TC_HOOK);
    check("bpf_tc_opts", LibbpfLayouts.TC_OPTS);
    check("bpf_map_batch_opts", LibbpfLayouts.MAP_BATCH_OPTS);
    check("bpf_map_create_opts", LibbpfLayouts.MAP_CREATE_OPTS);
    check("bpf_test_run_opts", LibbpfLayouts.TEST_RUN_OPTS);
  }

  @Test
  void everyConstantMatchesTheHeader() {
    assertThat(CONSTANTS.keySet())
        .containsExactlyInAnyOrderElementsOf(MapLayouts.CONSTANTS.keySet());
    MapLayouts.CONSTANTS.forEach(
        (name, value) ->
            assertThat(CONSTANTS.get(name)).as("PORIN_" + name).isEqualTo((long) value));
  }

  private static void check(String struct, StructLayout l) {
    assertThat(SIZES).as("the probe prints " + struct).containsKey(struct);
    assertThat(l.byteSize()).as("sizeof(struct " + struct + ")").isEqualTo(SIZES.get(struct));
    int checked = 0;
    for (MemoryLayout member : l.memberLayouts()) {
      if (member instanceof PaddingLayout || member.name().isEmpty()) {
        continue;
      }
      String field = member.name().get();
      long[] c = FIELDS.get(struct + "." + field);
      if (c == null) {
        // fields C has but the probe skips (libbpf internals) are not checked
        continue;
      }
      long offset = l.byteOffset(MemoryLayout.PathElement.groupElement(field));
      assertThat(offset).as("offsetof(" + struct + ", " + field + ")").isEqualTo(c[0]);
      assertThat(member.byteSize()).as("sizeof(" + struct + "." + field + ")").isEqualTo(c[1]);
      checked++;
    }
    long inProbe = FIELDS.keySet().stream().filter(k -> k.startsWith(struct + ".")).count();
    assertThat(checked).as("fields of " + struct + " checked").isEqualTo((int) inProbe);
  }
}
