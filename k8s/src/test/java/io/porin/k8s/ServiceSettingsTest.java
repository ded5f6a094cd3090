package io.porin.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.Probe;
import io.porin.service.health.ProbePort;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.ConfigMappings;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The images, ports, settings and probe paths the manifests name are the ones the services use:
 * read from the services' jars (their {@code @ConfigMapping} interfaces and {@code
 * application.properties}), never repeated here.
 */
class ServiceSettingsTest {
  /** Workload -> the Maven module (and image) of its service, and a class of its jar. */
  static final Map<String, Class<?>> SERVICES =
      Map.of(
          "porin-identity", io.porin.identity.config.PorinConfig.class,
          "porin-ipam", io.porin.ipam.config.IpamConfig.class,
          "porin-policy", io.porin.policy.config.PolicyConfig.class,
          "porin-relay", io.porin.relay.config.RelayConfig.class,
          "porin-clustermesh", io.porin.clustermesh.config.MeshConfig.class,
          "porin-agent", io.porin.agent.config.AgentConfig.class);

  static final Pattern REFERENCE = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");

  /** The service's settings in environment-variable form, from its jar and the common jar. */
  static Set<String> settings(Class<?> inJar) throws Exception {
    Set<String> names = new HashSet<>();
    for (Path jar : List.of(jarOf(inJar), jarOf(io.porin.service.tls.TlsConfig.class))) {
      try (JarFile j = new JarFile(jar.toFile())) {
        for (var e : java.util.Collections.list(j.entries())) {
          if (!e.getName().endsWith(".class") || e.getName().contains("$")) {
            continue;
          }
          String cn = e.getName().replace('/', '.').replaceAll("\\.class$", "");
          Class<?> c = Class.forName(cn, false, ServiceSettingsTest.class.getClassLoader());
          ConfigMapping mapping = c.getAnnotation(ConfigMapping.class);
          if (mapping != null) {
            ConfigMappings.getProperties(new ConfigMappings.ConfigClass(c, mapping.prefix()))
                .keySet()
                .forEach(n -> names.add(env(n)));
          }
        }
      }
    }
    applicationProperties(inJar).stringPropertyNames().forEach(n -> names.add(env(n)));
    return names;
  }

  static String env(String property) {
    return property.replaceAll("\\[\\*\\]|\\.\\*", "").toUpperCase().replaceAll("[^A-Z0-9]", "_");
  }

  static Path jarOf(Class<?> c) throws URISyntaxException {
    return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  static Properties applicationProperties(Class<?> inJar) throws Exception {
    Properties p = new Properties();
    try (JarFile j = new JarFile(jarOf(inJar).toFile());
        InputStream in = j.getInputStream(j.getEntry("application.properties"))) {
      p.load(in);
    }
    return p;
  }

  static int httpPort(Class<?> inJar) throws Exception {
    return Integer.parseInt(applicationProperties(inJar).getProperty("quarkus.http.port"));
  }

  static String module(String workload) {
    return workload.equals("porin-agent") ? "node-agent" : workload.substring("porin-".length());
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev", "production"})
  void imagesSettingsPortsAndProbesAreTheServicesOwn(String overlay) throws Exception {
    Manifests m = Manifests.render(overlay);
    String version = System.getProperty("porin.version");
    assertThat(version).isNotBlank();
    List<String> problems = new ArrayList<>();
    for (Manifests.Workload w : m.workloads()) {
      for (Container c :
          java.util.stream.Stream.concat(
                  w.pod().getInitContainers().stream(), w.pod().getContainers().stream())
              .toList()) {
        String expected =
            "porin/" + (w.name().equals("porin-etcd") ? "etcd" : module(w.name())) + ":" + version;
        if (!c.getImage().equals(expected)) {
          problems.add(
              w.name() + "/" + c.getName() + ": image " + c.getImage() + ", not " + expected);
        }
      }
      if (!SERVICES.containsKey(w.name())) {
        continue;
      }
      Class<?> jar = SERVICES.get(w.name());
      Set<String> known = settings(jar);
      Container c = w.main();
      Set<String> defined = new HashSet<>();
      for (EnvVar e : c.getEnv()) {
        if ((e.getName().startsWith("PORIN_") || e.getName().startsWith("QUARKUS_"))
            && !known.contains(e.getName())) {
          problems.add(w.name() + ": " + e.getName() + " is no setting of the service");
        }
        if (e.getValue() != null) {
          Matcher r = REFERENCE.matcher(e.getValue());
          while (r.find()) {
            if (!defined.contains(r.group(1))) {
              problems.add(
                  w.name()
                      + ": "
                      + e.getName()
                      + " refers to $("
                      + r.group(1)
                      + "), not defined before it");
            }
          }
        }
        defined.add(e.getName());
      }
      int grpc =
          c.getPorts().stream()
              .filter(p -> "grpc".equals(p.getName()))
              .findFirst()
              .orElseThrow()
              .getContainerPort();
      if (grpc != httpPort(jar)) {
        problems.add(
            w.name() + ": port grpc " + grpc + ", the service listens on " + httpPort(jar));
      }
      int probePort = Integer.parseInt(w.env("PORIN_PROBE_PORT").orElse("0"));
      String probeHost = w.env("PORIN_PROBE_HOST").orElse("");
      boolean host = Boolean.TRUE.equals(w.pod().getHostNetwork());
      if (!probeHost.equals(host ? "127.0.0.1" : "0.0.0.0")) {
        problems.add(w.name() + ": PORIN_PROBE_HOST " + probeHost + " on host network " + host);
      }
      Map<String, Probe> probes =
          Map.of(
              ProbePort.LIVE, c.getLivenessProbe(),
              ProbePort.READY, c.getReadinessProbe(),
              ProbePort.STARTED, c.getStartupProbe());
      probes.forEach(
          (path, probe) -> {
            HTTPGetAction get = probe == null ? null : probe.getHttpGet();
            if (get == null
                || !path.equals(get.getPath())
                || get.getPort().getIntVal() == null
                || get.getPort().getIntVal() != probePort
                || !java.util.Objects.equals(get.getHost(), host ? "127.0.0.1" : null)) {
              problems.add(
                  w.name() + ": the probe for " + path + " is not on the probe port " + probePort);
            }
          });
    }
    // where components reach each other: the ports the services listen on
    int identity = httpPort(SERVICES.get("porin-identity"));
    String join = m.workload("porin-identity").env("PORIN_CA_JOIN_PORT").orElseThrow();
    assertThat(m.workload("porin-identity").main().getPorts())
        .anySatisfy(p -> assertThat(p.getContainerPort()).isEqualTo(Integer.parseInt(join)));
    String etcdClient =
        m.workload("porin-etcd").main().getCommand().stream()
            .filter(a -> a.startsWith("--listen-client-urls="))
            .findFirst()
            .orElseThrow()
            .replaceAll(".*:", "");
    for (Manifests.Workload w : m.workloads()) {
      if (!SERVICES.containsKey(w.name())) {
        continue;
      }
      expectPort(problems, w, "PORIN_ETCD_ENDPOINTS", etcdClient);
      if (!w.name().equals("porin-identity")) {
        expectPort(problems, w, "PORIN_TLS_JOIN_ADDRESS", join);
        expectPort(problems, w, "PORIN_TLS_RENEW_FROM", Integer.toString(identity));
      }
    }
    var agent = m.workload("porin-agent");
    expectPort(problems, agent, "PORIN_AGENT_IDENTITY", Integer.toString(identity));
    expectPort(
        problems,
        agent,
        "PORIN_AGENT_IPAM",
        Integer.toString(httpPort(SERVICES.get("porin-ipam"))));
    expectPort(
        problems,
        agent,
        "PORIN_AGENT_POLICY",
        Integer.toString(httpPort(SERVICES.get("porin-policy"))));
    assertThat(problems).isEmpty();
  }

  static void expectPort(
      List<String> problems, Manifests.Workload w, String variable, String port) {
    String v = w.env(variable).orElse(null);
    if (v == null || !v.matches(".*:" + port + "/?$")) {
      problems.add(w.name() + ": " + variable + "=" + v + ", not at port " + port);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"PORIN_TLS_JOIN_ADDRES", "PORIN_AGENT_NODENAME", "QUARKUS_HTTP_HOTS"})
  void aMisspelledSettingIsNoSetting(String variable) throws Exception {
    assertThat(settings(io.porin.agent.config.AgentConfig.class)).doesNotContain(variable);
    assertThat(settings(io.porin.agent.config.AgentConfig.class))
        .contains("PORIN_TLS_JOIN_ADDRESS", "PORIN_AGENT_NODE_NAME", "QUARKUS_HTTP_HOST");
  }
}
