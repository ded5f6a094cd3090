package io.porin.agent.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The agent's native-image metadata names exactly the foreign calls the agent makes: every
 * signature its libbpf and libc handles and its libbpf log upcall use (made here, as the agent
 * makes them), and no other. A native agent without one would fail at its first such call.
 */
class ForeignCallsTest {
  static final String METADATA =
      "/META-INF/native-image/io.porin/porin-node-agent/reachability-metadata.json";
  static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void theNativeImageMetadataListsEveryForeignCallAndNoOther() throws Exception {
    Class.forName(Libbpf.class.getName(), true, getClass().getClassLoader());
    Class.forName("io.porin.agent.net.NetnsCookie", true, getClass().getClassLoader());
    LibbpfLog.install();
    Set<Foreign.Signature> made = Foreign.made();
    assertThat(made).isNotEmpty();

    Set<Foreign.Signature> listed = new HashSet<>();
    try (InputStream in = getClass().getResourceAsStream(METADATA)) {
      assertThat(in).as(METADATA).isNotNull();
      JsonNode foreign = JSON.readTree(in).path("foreign");
      for (String kind : List.of("downcall", "upcall")) {
        for (JsonNode call : foreign.path(kind + "s")) {
          List<String> params = new ArrayList<>();
          call.path("parameterTypes").forEach(p -> params.add(p.asText()));
          listed.add(
              new Foreign.Signature(
                  kind,
                  call.path("returnType").asText(),
                  params,
                  call.path("options").path("captureCallState").asBoolean(false)));
        }
      }
    }
    assertThat(listed).as("the metadata, against:\n" + expected(made)).isEqualTo(made);
  }

  /** The metadata's foreign section as it should be (printed when the two differ). */
  static String expected(Set<Foreign.Signature> made) throws Exception {
    ObjectNode foreign = JSON.createObjectNode();
    for (String kind : List.of("downcall", "upcall")) {
      ArrayNode calls = foreign.putArray(kind + "s");
      made.stream()
          .filter(s -> s.kind().equals(kind))
          .sorted(Comparator.comparing(Foreign.Signature::toString))
          .forEach(
              s -> {
                ObjectNode c = calls.addObject().put("returnType", s.returnType());
                s.parameterTypes().forEach(c.putArray("parameterTypes")::add);
                if (s.parameterTypes().isEmpty()) {
                  c.putArray("parameterTypes");
                }
                if (s.captureCallState()) {
                  c.putObject("options").put("captureCallState", true);
                }
              });
    }
    ObjectNode root = JSON.createObjectNode();
    root.set("foreign", foreign);
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
  }

  @Test
  void layoutsAreNamedAsNativeImageNamesThem() {
    assertThat(
            Foreign.signature(
                "downcall",
                java.lang.foreign.FunctionDescriptor.of(
                    java.lang.foreign.ValueLayout.JAVA_INT,
                    java.lang.foreign.ValueLayout.ADDRESS,
                    java.lang.foreign.ValueLayout.JAVA_LONG),
                true))
        .isEqualTo(new Foreign.Signature("downcall", "jint", List.of("void*", "jlong"), true));
    assertThat(
            Foreign.signature(
                    "upcall",
                    java.lang.foreign.FunctionDescriptor.ofVoid(
                        java.lang.foreign.ValueLayout.ADDRESS),
                    false)
                .returnType())
        .isEqualTo("void");
  }
}
