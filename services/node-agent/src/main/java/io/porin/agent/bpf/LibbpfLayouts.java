package io.porin.agent.bpf;

import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.StructLayout;

/**
 * libbpf 1.1's option structs, as x86-64 lays them out. Every one starts with {@code sz}, which
 * must be set (libbpf refuses a zero size); MapLayoutsTest checks them against libbpf's headers.
 */
final class LibbpfLayouts {
  private LibbpfLayouts() {}

  static final StructLayout OBJECT_OPEN_OPTS =
      structLayout(
          JAVA_LONG.withName("sz"),
          ADDRESS.withName("object_name"),
          JAVA_BOOLEAN.withName("relaxed_maps"),
          paddingLayout(7),
          ADDRESS.withName("pin_root_path"),
          paddingLayout(8), // a stub where attach_prog_fd was
          ADDRESS.withName("kconfig"),
          ADDRESS.withName("btf_custom_path"),
          ADDRESS.withName("kernel_log_buf"),
          JAVA_LONG.withName("kernel_log_size"),
          JAVA_INT.withName("kernel_log_level"),
          paddingLayout(4));

  static final StructLayout TC_HOOK =
      structLayout(
          JAVA_LONG.withName("sz"),
          JAVA_INT.withName("ifindex"),
          JAVA_INT.withName("attach_point"),
          JAVA_INT.withName("parent"),
          paddingLayout(4));

  static final StructLayout TC_OPTS =
      structLayout(
          JAVA_LONG.withName("sz"),
          JAVA_INT.withName("prog_fd"),
          JAVA_INT.withName("flags"),
          JAVA_INT.withName("prog_id"),
          JAVA_INT.withName("handle"),
          JAVA_INT.withName("priority"),
          paddingLayout(4));

  static final StructLayout MAP_BATCH_OPTS =
      structLayout(
          JAVA_LONG.withName("sz"), JAVA_LONG.withName("elem_flags"), JAVA_LONG.withName("flags"));

  static final StructLayout MAP_CREATE_OPTS =
      structLayout(
          JAVA_LONG.withName("sz"),
          JAVA_INT.withName("btf_fd"),
          JAVA_INT.withName("btf_key_type_id"),
          JAVA_INT.withName("btf_value_type_id"),
          JAVA_INT.withName("btf_vmlinux_value_type_id"),
          JAVA_INT.withName("inner_map_fd"),
          JAVA_INT.withName("map_flags"),
          JAVA_LONG.withName("map_extra"),
          JAVA_INT.withName("numa_node"),
          JAVA_INT.withName("map_ifindex"));

  static final StructLayout TEST_RUN_OPTS =
      structLayout(
          JAVA_LONG.withName("sz"),
          ADDRESS.withName("data_in"),
          ADDRESS.withName("data_out"),
          JAVA_INT.withName("data_size_in"),
          JAVA_INT.withName("data_size_out"),
          ADDRESS.withName("ctx_in"),
          ADDRESS.withName("ctx_out"),
          JAVA_INT.withName("ctx_size_in"),
          JAVA_INT.withName("ctx_size_out"),
          JAVA_INT.withName("retval"),
          JAVA_INT.withName("repeat"),
          JAVA_INT.withName("duration"),
          JAVA_INT.withName("flags"),
          JAVA_INT.withName("cpu"),
          JAVA_INT.withName("batch_size"));
}
