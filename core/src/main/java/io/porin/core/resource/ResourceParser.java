package io.porin.core.resource;

import io.porin.core.ipam.Cidr;
import io.porin.core.labels.InvalidLabelException;
import io.porin.core.labels.Label;
import io.porin.core.labels.LabelSource;
import io.porin.core.policy.Direction;
import io.porin.core.policy.Entity;
import io.porin.core.policy.IcmpTypes;
import io.porin.core.policy.Peer;
import io.porin.core.policy.PolicyRef;
import io.porin.core.policy.PolicyRule;
import io.porin.core.policy.PortRule;
import io.porin.core.policy.Protocol;
import io.porin.core.policy.Requirement;
import io.porin.core.policy.RuleItem;
import io.porin.core.policy.RuleRef;
import io.porin.core.policy.Selector;
import io.porin.core.resource.YamlDocuments.Document;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads Namespaces, Pods, Services, NetworkPolicies, CiliumNetworkPolicies and
 * CiliumClusterwideNetworkPolicies from YAML or JSON, validating every field. Policies are parsed
 * strictly (an unknown field is an error: a typo must not change what is allowed); for workloads
 * only the networking subset is read and checked, and other fields are ignored.
 *
 * <p>One bad document never stops the others: {@link #parse} returns the good resources and a
 * refusal per bad document.
 */
public final class ResourceParser {

  /**
   * The outcome of reading one file: the resources, the (1-based) document each came from, in the
   * same order, and the refused documents.
   */
  public record Result(List<Resource> resources, List<Integer> documents, List<Refusal> refusals) {
    public Result {
      resources = List.copyOf(resources);
      documents = List.copyOf(documents);
      refusals = List.copyOf(refusals);
    }
  }

  /**
   * A document that was refused, with the reason (which names document, field and value), and the
   * resource it names when kind and name can be read at all (else null).
   */
  public record Refusal(int document, String name, String message, ResourceId id) {}

  static final String AUDIT_ANNOTATION = NamespaceResource.AUDIT_ANNOTATION;
  static final String ENCRYPT_ANNOTATION = "cilium.io/encrypt";

  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern PORT_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern FQDN_NAME = Pattern.compile("([-a-zA-Z0-9_]+[.]?)+");
  private static final Pattern FQDN_PATTERN = Pattern.compile("([-a-zA-Z0-9_*]+[.]?)+");

  private ResourceParser() {}

  /** Reads every document of the text. */
  public static Result parse(String text) {
    List<Resource> ok = new ArrayList<>();
    List<Integer> documents = new ArrayList<>();
    List<Refusal> refused = new ArrayList<>();
    for (Document d : YamlDocuments.read(text)) {
      String fallback = "document " + d.index();
      if (d.hasSyntaxError()) {
        refused.add(
            new Refusal(
                d.index(), fallback, fallback + ": not valid YAML: " + d.syntaxError(), null));
        continue;
      }
      for (Object tree : items(d.tree())) {
        Optional<ResourceId> id = idOf(tree);
        String name = id.map(ResourceId::displayName).orElse(fallback);
        try {
          ok.add(parseDocument(tree, name));
          documents.add(d.index());
        } catch (ResourceException e) {
          refused.add(new Refusal(d.index(), name, e.getMessage(), id.orElse(null)));
        }
      }
    }
    return new Result(ok, documents, refused);
  }

  /**
   * Reads one document tree (as the store keeps it).
   *
   * @throws ResourceException naming the document, the field and the value
   */
  public static Resource parseDocument(Object tree, String documentName) {
    Tree doc = new Tree(documentName, "", tree);
    if (!(tree instanceof Map<?, ?>)) {
      throw doc.error("expected a Kubernetes object (apiVersion, kind, metadata, ...)");
    }
    String apiVersion = doc.field("apiVersion").requiredString();
    String kindName = doc.field("kind").requiredString();
    ResourceKind kind =
        ResourceKind.ofKind(kindName)
            .orElseThrow(
                () ->
                    doc.field("kind")
                        .invalid(
                            "is not a kind Porin reads (Namespace, Pod, Service, NetworkPolicy,"
                                + " CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy)"));
    if (!kind.apiVersion().equals(apiVersion)) {
      throw doc.field("apiVersion")
          .invalid("is not the API version of " + kindName + " (" + kind.apiVersion() + ")");
    }
    Metadata meta = metadata(doc, kind);
    @SuppressWarnings("unchecked")
    Map<String, Object> source = (Map<String, Object>) tree;
    return switch (kind) {
      case NAMESPACE -> new NamespaceResource(meta.id, meta.labels, meta.annotations, source);
      case POD -> pod(doc, meta, source);
      case SERVICE -> service(doc, meta, source);
      case NETWORK_POLICY -> networkPolicy(doc, meta, source);
      case CILIUM_NETWORK_POLICY, CILIUM_CLUSTERWIDE_NETWORK_POLICY ->
          ciliumPolicy(doc, meta, source);
    };
  }

  private static List<Object> items(Object tree) {
    if (tree instanceof Map<?, ?> m
        && "List".equals(m.get("kind"))
        && m.get("items") instanceof List<?> l) {
      return new ArrayList<>(l);
    }
    return List.of(tree == null ? Map.of() : tree);
  }

  /**
   * The resource a document names (kind, metadata.namespace, metadata.name), without validating
   * anything else; empty when it does not name one of the kinds Porin reads.
   */
  public static Optional<ResourceId> idOf(Object tree) {
    if (tree instanceof Map<?, ?> m
        && m.get("kind") instanceof String kind
        && m.get("metadata") instanceof Map<?, ?> meta
        && meta.get("name") instanceof String name
        && !name.isEmpty()) {
      return ResourceKind.ofKind(kind)
          .map(
              k ->
                  new ResourceId(
                      k,
                      k.namespaced()
                          ? meta.get("namespace") instanceof String ns && !ns.isEmpty()
                              ? ns
                              : "default"
                          : "",
                      name));
    }
    return Optional.empty();
  }

  // ---- metadata -------------------------------------------------------------------------------

  private record Metadata(
      ResourceId id, Map<String, String> labels, Map<String, String> annotations) {}

  private static Metadata metadata(Tree doc, ResourceKind kind) {
    Tree meta = doc.field("metadata");
    if (meta.isNull()) {
      throw meta.error("is required");
    }
    meta.map();
    Tree nameField = meta.field("name");
    String name = nameField.requiredString();
    if (name.length() > 253 || !DNS_SUBDOMAIN.matcher(name).matches()) {
      throw nameField.invalid(
          "is not a valid name (lower-case letters, digits, '-' and '.', at most 253)");
    }
    String namespace = "";
    Tree nsField = meta.field("namespace");
    if (kind.namespaced()) {
      namespace =
          nsField.string() == null || nsField.string().isEmpty() ? "default" : nsField.string();
      if (namespace.length() > 63 || !DNS_LABEL.matcher(namespace).matches()) {
        throw nsField.invalid(
            "is not a valid namespace (lower-case letters, digits and '-', at most 63)");
      }
    } else if (nsField.string() != null && !nsField.string().isEmpty()) {
      throw nsField.invalid("is set, but a " + kind.kind() + " is not namespaced");
    }
    if (kind == ResourceKind.NAMESPACE
        && (name.length() > 63 || !DNS_LABEL.matcher(name).matches())) {
      throw nameField.invalid(
          "is not a valid namespace name (lower-case letters, digits and '-', at most 63)");
    }
    Map<String, String> labels = meta.field("labels").stringMap();
    for (Map.Entry<String, String> e : labels.entrySet()) {
      try {
        Label.k8s(e.getKey(), e.getValue());
      } catch (InvalidLabelException ex) {
        throw meta.field("labels").field(e.getKey()).error(ex.getMessage());
      }
    }
    Map<String, String> annotations = meta.field("annotations").stringMap();
    return new Metadata(new ResourceId(kind, namespace, name), labels, annotations);
  }

  // ---- workloads ------------------------------------------------------------------------------

  private static PodResource pod(Tree doc, Metadata meta, Map<String, Object> source) {
    Tree spec = doc.field("spec");
    String nodeName = spec.field("nodeName").string();
    List<PodResource.ContainerPort> ports = new ArrayList<>();
    Set<String> names = new java.util.HashSet<>();
    for (Tree c : spec.field("containers").list()) {
      String container = c.field("name").string();
      for (Tree p : c.field("ports").list()) {
        int number = port(p.field("containerPort"), false);
        Protocol proto = protocol(p.field("protocol"), Protocol.TCP, false);
        String portName = p.field("name").string();
        if (portName != null) {
          checkPortName(p.field("name"));
          if (!names.add(portName)) {
            throw p.field("name").invalid("is used by two container ports of this pod");
          }
        }
        ports.add(new PodResource.ContainerPort(container, portName, number, proto));
      }
    }
    return new PodResource(meta.id, meta.labels, meta.annotations, nodeName, ports, source);
  }

  private static ServiceResource service(Tree doc, Metadata meta, Map<String, Object> source) {
    Tree spec = doc.field("spec");
    String type = spec.field("type").string();
    if (type == null) {
      type = "ClusterIP";
    }
    if (!Set.of("ClusterIP", "NodePort", "LoadBalancer", "ExternalName").contains(type)) {
      throw spec.field("type").invalid("is not a service type");
    }
    boolean nodePorts = type.equals("NodePort") || type.equals("LoadBalancer");
    Map<String, String> selector = spec.field("selector").stringMap();
    List<String> clusterIPs = clusterIPs(spec);
    if (nodePorts && clusterIPs.contains(ServiceResource.HEADLESS)) {
      throw spec.field("clusterIP").invalid("a " + type + " service cannot be headless");
    }
    List<ServiceResource.ServicePort> ports = new ArrayList<>();
    Set<String> portNames = new java.util.HashSet<>();
    Set<String> frontends = new java.util.HashSet<>();
    List<Tree> portList = spec.field("ports").list();
    for (Tree p : portList) {
      int number = port(p.field("port"), false);
      Protocol proto = protocol(p.field("protocol"), Protocol.TCP, false);
      Tree target = p.field("targetPort");
      int targetPort = number;
      String targetName = null;
      String text = target.scalarText();
      if (text != null) {
        if (text.matches("\\d+")) {
          targetPort = port(target, false);
        } else {
          checkPortName(target);
          targetName = text;
          targetPort = 0;
        }
      }
      String name = p.field("name").string();
      if (name != null && !name.isEmpty()) {
        checkPortName(p.field("name"));
        if (!portNames.add(name)) {
          throw p.field("name").invalid("is used by two ports of this service");
        }
      } else if (portList.size() > 1) {
        throw p.field("name").error("is required when a service has more than one port");
      }
      if (!frontends.add(number + "/" + proto)) {
        throw p.field("port").invalid("is used twice with protocol " + proto);
      }
      int nodePort = 0;
      if (p.has("nodePort") && !p.field("nodePort").isNull()) {
        nodePort = port(p.field("nodePort"), true);
        if (nodePort != 0 && !nodePorts) {
          throw p.field("nodePort")
              .invalid("is only for NodePort and LoadBalancer services (this one is " + type + ")");
        }
        if (nodePort != 0 && (nodePort < NODE_PORT_MIN || nodePort > NODE_PORT_MAX)) {
          throw p.field("nodePort")
              .invalid("is outside the node port range " + NODE_PORT_MIN + "-" + NODE_PORT_MAX);
        }
      }
      ports.add(
          new ServiceResource.ServicePort(name, number, proto, targetPort, targetName, nodePort));
    }
    int affinity = 0;
    String sessionAffinity = spec.field("sessionAffinity").string();
    if (sessionAffinity != null && !sessionAffinity.equals("None")) {
      if (!sessionAffinity.equals("ClientIP")) {
        throw spec.field("sessionAffinity").invalid("is not None or ClientIP");
      }
      affinity = ServiceResource.DEFAULT_AFFINITY_TIMEOUT;
      Tree timeout = spec.field("sessionAffinityConfig").field("clientIP").field("timeoutSeconds");
      if (!timeout.isNull()) {
        String t = timeout.scalarText();
        if (t == null || !t.matches("\\d{1,6}")) {
          throw timeout.invalid("is not a number of seconds");
        }
        affinity = Integer.parseInt(t);
        if (affinity < 1 || affinity > 86400) {
          throw timeout.invalid("is not between 1 and 86400 seconds");
        }
      }
    }
    String algorithm =
        meta.annotations.getOrDefault(ServiceResource.LB_ALGORITHM_ANNOTATION, "random");
    if (!algorithm.equals("random") && !algorithm.equals("maglev")) {
      throw doc.field("metadata")
          .field("annotations")
          .field(ServiceResource.LB_ALGORITHM_ANNOTATION)
          .invalid("is not random or maglev");
    }
    for (String a : List.of(ServiceResource.GLOBAL_ANNOTATION, ServiceResource.SHARED_ANNOTATION)) {
      String v = meta.annotations.get(a);
      if (v != null && !v.equals("true") && !v.equals("false")) {
        throw doc.field("metadata").field("annotations").field(a).invalid("is not true or false");
      }
    }
    String meshAffinity = meta.annotations.get(ServiceResource.AFFINITY_ANNOTATION);
    if (meshAffinity != null && !List.of("local", "remote", "none").contains(meshAffinity)) {
      throw doc.field("metadata")
          .field("annotations")
          .field(ServiceResource.AFFINITY_ANNOTATION)
          .invalid("is not local, remote or none");
    }
    return new ServiceResource(
        meta.id,
        meta.labels,
        meta.annotations,
        type,
        selector,
        ports,
        clusterIPs,
        affinity,
        algorithm,
        source);
  }

  /** The first node port Kubernetes allocates by default. */
  public static final int NODE_PORT_MIN = 30000;

  /** The last node port Kubernetes allocates by default. */
  public static final int NODE_PORT_MAX = 32767;

  /** {@code spec.clusterIP} and {@code spec.clusterIPs}: at most one per family, or "None". */
  private static List<String> clusterIPs(Tree spec) {
    List<String> out = new ArrayList<>();
    String single = spec.field("clusterIP").string();
    List<Tree> many = spec.field("clusterIPs").list();
    for (Tree t : many) {
      String ip = t.string();
      out.add(clusterIp(t, ip));
    }
    if (single != null && !single.isEmpty()) {
      String ip = clusterIp(spec.field("clusterIP"), single);
      if (!out.isEmpty() && !out.getFirst().equals(ip)) {
        throw spec.field("clusterIP")
            .invalid("differs from clusterIPs[0] (" + out.getFirst() + ")");
      }
      if (out.isEmpty()) {
        out.add(ip);
      }
    }
    if (out.contains(ServiceResource.HEADLESS) && out.size() > 1) {
      throw spec.field("clusterIPs").invalid("mixes None with addresses");
    }
    if (out.size() > 2
        || (out.size() == 2 && out.get(0).contains(":") == out.get(1).contains(":"))) {
      throw spec.field("clusterIPs").invalid("must hold at most one address per family");
    }
    return out;
  }

  private static String clusterIp(Tree field, String text) {
    if (text == null || text.isEmpty()) {
      throw field.error("is empty");
    }
    if (text.equals(ServiceResource.HEADLESS)) {
      return text;
    }
    try {
      Cidr c = Cidr.parse(text + (text.contains(":") ? "/128" : "/32"));
      return Cidr.format(c.family(), c.network());
    } catch (IllegalArgumentException e) {
      throw field.invalid("is not an IP address");
    }
  }

  // ---- Kubernetes NetworkPolicy ---------------------------------------------------------------

  private static PolicyResource networkPolicy(Tree doc, Metadata meta, Map<String, Object> source) {
    doc.onlyFields(Set.of("apiVersion", "kind", "metadata", "spec", "status"));
    Tree spec = doc.field("spec");
    if (spec.isNull() || spec.map().isEmpty()) {
      throw spec.error("is empty: a NetworkPolicy needs at least a podSelector");
    }
    spec.onlyFields(Set.of("podSelector", "policyTypes", "ingress", "egress"));
    PolicyRef ref = new PolicyRef(meta.id.kind(), meta.id.namespace(), meta.id.name());
    String ns = meta.id.namespace();
    if (!spec.has("podSelector")) {
      throw spec.field("podSelector").error("is required (use {} to select every pod)");
    }
    Selector subject =
        selector(spec.field("podSelector"))
            .and(Requirement.equalTo("k8s:" + Label.POD_NAMESPACE, ns));
    boolean hasEgress = spec.has("egress") && !spec.field("egress").isNull();
    boolean ingressType = true;
    boolean egressType = hasEgress;
    if (spec.has("policyTypes")) {
      ingressType = false;
      egressType = false;
      for (Tree t : spec.field("policyTypes").list()) {
        switch (String.valueOf(t.string())) {
          case "Ingress" -> ingressType = true;
          case "Egress" -> egressType = true;
          default -> throw t.invalid("is not a policy type (Ingress or Egress)");
        }
      }
    }
    List<RuleItem> items = new ArrayList<>();
    List<Tree> ingress = spec.field("ingress").list();
    for (int i = 0; i < ingress.size(); i++) {
      Tree r = ingress.get(i).onlyFields(Set.of("from", "ports"));
      RuleItem item =
          k8sItem(r, r.field("from"), new RuleRef(ref, "ingress", i), Direction.INGRESS, ns);
      if (ingressType) {
        items.add(item);
      }
    }
    List<Tree> egress = spec.field("egress").list();
    for (int i = 0; i < egress.size(); i++) {
      Tree r = egress.get(i).onlyFields(Set.of("to", "ports"));
      RuleItem item =
          k8sItem(r, r.field("to"), new RuleRef(ref, "egress", i), Direction.EGRESS, ns);
      if (egressType) {
        items.add(item);
      }
    }
    PolicyRule rule =
        new PolicyRule(
            ref,
            subject,
            ingressType,
            egressType,
            null,
            null,
            items,
            List.of(),
            List.of(),
            audited(meta),
            false);
    return new PolicyResource(
        meta.id, meta.labels, meta.annotations, List.of(rule), List.of(), source);
  }

  private static RuleItem k8sItem(
      Tree rule, Tree peersField, RuleRef ref, Direction direction, String ns) {
    List<Peer> peers = null;
    List<Tree> peerTrees = peersField.list();
    if (!peerTrees.isEmpty()) {
      peers = new ArrayList<>();
      for (Tree p : peerTrees) {
        p.onlyFields(Set.of("podSelector", "namespaceSelector", "ipBlock"));
        boolean pods = p.has("podSelector");
        boolean namespaces = p.has("namespaceSelector");
        boolean block = p.has("ipBlock");
        if (block && (pods || namespaces)) {
          throw p.error("ipBlock cannot be combined with podSelector or namespaceSelector");
        }
        if (!block && !pods && !namespaces) {
          throw p.error("needs one of podSelector, namespaceSelector, ipBlock");
        }
        if (block) {
          Tree b = p.field("ipBlock").onlyFields(Set.of("cidr", "except"));
          Cidr base = cidr(b.field("cidr"), true);
          peers.add(new Peer.Addresses(base, excepts(b.field("except"), base), true));
          continue;
        }
        Selector s = pods ? selector(p.field("podSelector")) : Selector.ALL;
        if (namespaces) {
          s = s.and(namespaceSelector(p.field("namespaceSelector")));
        } else {
          s = s.and(Requirement.equalTo("k8s:" + Label.POD_NAMESPACE, ns));
        }
        peers.add(new Peer.Endpoints(s));
      }
    }
    List<PortRule> ports = new ArrayList<>();
    for (Tree p : rule.field("ports").list()) {
      p.onlyFields(Set.of("port", "endPort", "protocol"));
      ports.add(portRule(p, Protocol.TCP, false));
    }
    return new RuleItem(ref, direction, false, peers, ports);
  }

  /** A namespaceSelector as a selector on pods: their namespace's labels, any namespace if {}. */
  private static Selector namespaceSelector(Tree t) {
    Selector ns = selector(t);
    List<Requirement> rs = new ArrayList<>();
    for (Requirement r : ns.requirements()) {
      rs.add(
          new Requirement(
              "k8s:" + Label.NAMESPACE_LABELS_PREFIX + r.bareKey(), r.operator(), r.values()));
    }
    rs.add(new Requirement("k8s:" + Label.POD_NAMESPACE, Requirement.Operator.EXISTS, List.of()));
    return new Selector(rs);
  }

  // ---- Cilium policies ------------------------------------------------------------------------

  private static final Set<String> RULE_FIELDS =
      Set.of(
          "endpointSelector",
          "nodeSelector",
          "ingress",
          "ingressDeny",
          "egress",
          "egressDeny",
          "labels",
          "description",
          "enableDefaultDeny",
          "log");
  private static final Set<String> INGRESS_FIELDS =
      Set.of(
          "fromEndpoints",
          "fromRequires",
          "fromCIDR",
          "fromCIDRSet",
          "fromEntities",
          "fromGroups",
          "fromNodes",
          "toPorts",
          "icmps",
          "authentication");
  private static final Set<String> EGRESS_FIELDS =
      Set.of(
          "toEndpoints",
          "toRequires",
          "toCIDR",
          "toCIDRSet",
          "toEntities",
          "toServices",
          "toGroups",
          "toNodes",
          "toFQDNs",
          "toPorts",
          "icmps",
          "authentication");

  private static PolicyResource ciliumPolicy(Tree doc, Metadata meta, Map<String, Object> source) {
    doc.onlyFields(Set.of("apiVersion", "kind", "metadata", "spec", "specs", "status"));
    PolicyRef ref = new PolicyRef(meta.id.kind(), meta.id.namespace(), meta.id.name());
    // spec and specs may both be given (Cilium accepts that); sections are named accordingly.
    List<Tree> specs = new ArrayList<>();
    List<String> prefixes = new ArrayList<>();
    Tree single = doc.field("spec");
    if (!single.isNull() && !single.map().isEmpty()) {
      specs.add(single);
      prefixes.add("");
    }
    List<Tree> many = doc.field("specs").list();
    for (int i = 0; i < many.size(); i++) {
      specs.add(many.get(i));
      prefixes.add("specs[" + i + "].");
    }
    if (specs.isEmpty()) {
      throw doc.field("spec")
          .error(
              "is empty: a policy needs an endpointSelector and at least one of ingress,"
                  + " ingressDeny, egress, egressDeny");
    }
    List<String> unenforced = new ArrayList<>();
    boolean encrypt = encrypted(doc, meta);
    List<PolicyRule> rules = new ArrayList<>();
    for (int s = 0; s < specs.size(); s++) {
      rules.add(ciliumRule(specs.get(s), ref, meta, prefixes.get(s), unenforced, encrypt));
    }
    return new PolicyResource(meta.id, meta.labels, meta.annotations, rules, unenforced, source);
  }

  private static PolicyRule ciliumRule(
      Tree spec,
      PolicyRef ref,
      Metadata meta,
      String sectionPrefix,
      List<String> unenforced,
      boolean encrypt) {
    spec.onlyFields(RULE_FIELDS);
    boolean clusterwide = ref.kind() == ResourceKind.CILIUM_CLUSTERWIDE_NETWORK_POLICY;
    String ns = meta.id.namespace();
    boolean hasEndpoints = spec.has("endpointSelector");
    boolean hasNodes = spec.has("nodeSelector");
    if (hasEndpoints == hasNodes) {
      throw spec.error(
          hasEndpoints
              ? "endpointSelector and nodeSelector cannot both be set"
              : "one of endpointSelector or nodeSelector is required (use {} to select all)");
    }
    if (hasNodes && !clusterwide) {
      throw spec.field("nodeSelector")
          .error("is only allowed in a CiliumClusterwideNetworkPolicy (host firewall)");
    }
    Selector subject;
    if (hasNodes) {
      selector(spec.field("nodeSelector"));
      unenforced.add(
          spec.field("nodeSelector").path()
              + ": host firewall policies (nodeSelector) are not enforced yet; Porin enforces"
              + " policy on pods only");
      subject = Selector.ALL;
    } else {
      Selector s = selector(spec.field("endpointSelector"));
      if (clusterwide) {
        subject = s;
      } else {
        // Cilium: a namespaced policy only ever selects endpoints of its namespace.
        List<Requirement> rs = new ArrayList<>();
        for (Requirement r : s.requirements()) {
          if (!r.bareKey().equals(Label.POD_NAMESPACE)) {
            rs.add(r);
          }
        }
        rs.add(Requirement.equalTo("k8s:" + Label.POD_NAMESPACE, ns));
        subject = new Selector(rs);
      }
    }
    Boolean ddIngress = null;
    Boolean ddEgress = null;
    Tree dd = spec.field("enableDefaultDeny");
    if (!dd.isNull()) {
      dd.onlyFields(Set.of("ingress", "egress"));
      ddIngress = dd.field("ingress").bool();
      ddEgress = dd.field("egress").bool();
    }
    Tree log = spec.field("log");
    if (!log.isNull()) {
      log.onlyFields(Set.of("value"));
      log.field("value").string();
    }
    Map<String, String> ruleLabels = new LinkedHashMap<>();
    for (Tree l : spec.field("labels").list()) {
      l.onlyFields(Set.of("key", "value", "source"));
      ruleLabels.put(l.field("key").requiredString(), String.valueOf(l.field("value").string()));
    }
    spec.field("description").string();

    Scope scope = clusterwide ? Scope.CLUSTERWIDE : new Scope(ns);
    List<RuleItem> items = new ArrayList<>();
    List<Selector> ingressRequires = new ArrayList<>();
    List<Selector> egressRequires = new ArrayList<>();
    String[][] sections = {
      {"ingress", "false"}, {"ingressDeny", "true"}, {"egress", "false"}, {"egressDeny", "true"}
    };
    for (String[] sec : sections) {
      String name = sec[0];
      boolean deny = Boolean.parseBoolean(sec[1]);
      Direction direction = name.startsWith("ingress") ? Direction.INGRESS : Direction.EGRESS;
      List<Tree> list = spec.field(name).list();
      for (int i = 0; i < list.size(); i++) {
        RuleRef rr = new RuleRef(ref, sectionPrefix + name, i);
        ciliumItem(
            list.get(i),
            rr,
            direction,
            deny,
            scope,
            items,
            direction == Direction.INGRESS ? ingressRequires : egressRequires,
            unenforced);
      }
    }
    boolean ingressSection = present(spec, "ingress") || present(spec, "ingressDeny");
    boolean egressSection = present(spec, "egress") || present(spec, "egressDeny");
    if (!ingressSection && !egressSection) {
      throw spec.error(
          "has no ingress, ingressDeny, egress or egressDeny section, so it would do nothing"
              + " (write ingress: [] or egress: [] for default deny)");
    }
    return new PolicyRule(
        ref,
        subject,
        ingressSection,
        egressSection,
        ddIngress,
        ddEgress,
        items,
        ingressRequires,
        egressRequires,
        audited(meta),
        encrypt);
  }

  /** How a policy's peer selectors are scoped: to its namespace, or to all pods (clusterwide). */
  private record Scope(String namespace) {
    static final Scope CLUSTERWIDE = new Scope(null);

    Selector apply(Selector s) {
      return namespace == null ? s.scopedToPods() : s.scopedToNamespace(namespace);
    }
  }

  private static boolean present(Tree spec, String field) {
    return spec.has(field) && spec.field(field).isList();
  }

  private static void ciliumItem(
      Tree item,
      RuleRef ref,
      Direction direction,
      boolean deny,
      Scope scope,
      List<RuleItem> out,
      List<Selector> requires,
      List<String> unenforced) {
    boolean ingress = direction == Direction.INGRESS;
    Set<String> fields = new java.util.HashSet<>(ingress ? INGRESS_FIELDS : EGRESS_FIELDS);
    if (deny) {
      fields.removeAll(Set.of("toFQDNs", "authentication", "toServices"));
    }
    item.onlyFields(fields);
    String p = ingress ? "from" : "to";

    // Cilium: one kind of peer per rule ("combining X and Y is not supported yet").
    List<String> l3 = new ArrayList<>();
    for (String f :
        List.of(
            p + "Endpoints",
            p + "CIDR",
            p + "CIDRSet",
            p + "Entities",
            p + "Nodes",
            p + "Groups",
            "toServices",
            "toFQDNs")) {
      if (item.has(f)
          && !item.field(f).list().isEmpty()
          && (ingress ? !f.startsWith("to") : true)) {
        l3.add(f);
      }
    }
    if (l3.size() > 1) {
      throw item.error("combining " + l3.get(0) + " and " + l3.get(1) + " is not supported");
    }

    for (String unsupported : List.of(p + "Groups", p + "Nodes", "toServices")) {
      if (item.has(unsupported) && (ingress ? !unsupported.startsWith("to") : true)) {
        item.field(unsupported).list();
        unenforced.add(item.field(unsupported).path() + ": is not enforced yet");
      }
    }
    for (Tree r : item.field(p + "Requires").list()) {
      requires.add(scope.apply(selector(r)));
    }

    List<Peer> peers = null;
    List<Peer> dnsPeers = new ArrayList<>();
    boolean anyL3 = false;
    for (String f : List.of(p + "Endpoints", p + "CIDR", p + "CIDRSet", p + "Entities")) {
      if (item.has(f)) {
        anyL3 = true;
      }
    }
    if (item.has("toFQDNs") && !ingress) {
      for (Tree f : item.field("toFQDNs").list()) {
        fqdnSelector(f);
      }
      unenforced.add(
          item.field("toFQDNs").path()
              + ": DNS-based egress (toFQDNs) is not enforced yet (needs the DNS proxy)");
      anyL3 = true;
    }
    if (anyL3) {
      peers = new ArrayList<>();
      for (Tree s : item.field(p + "Endpoints").list()) {
        peers.add(new Peer.Endpoints(scope.apply(selector(s))));
      }
      for (Tree c : item.field(p + "CIDR").list()) {
        peers.add(new Peer.Addresses(cidr(c, false), List.of(), false));
      }
      for (Tree c : item.field(p + "CIDRSet").list()) {
        c.onlyFields(Set.of("cidr", "except", "cidrGroupRef", "cidrGroupSelector"));
        if (c.has("cidrGroupRef") || c.has("cidrGroupSelector")) {
          unenforced.add(c.path() + ": CiliumCIDRGroup references are not supported yet");
          continue;
        }
        Cidr base = cidr(c.field("cidr"), false);
        peers.add(new Peer.Addresses(base, excepts(c.field("except"), base), false));
      }
      for (Tree e : item.field(p + "Entities").list()) {
        String text = e.requiredString();
        Entity entity =
            Entity.parse(text)
                .orElseThrow(
                    () ->
                        e.invalid(
                            "is not an entity (all, world, cluster, host, remote-node,"
                                + " kube-apiserver, health, init, ingress, unmanaged, none, dns,"
                                + " kube-dns)"));
        if (entity == Entity.DNS) {
          dnsPeers.add(
              new Peer.Endpoints(
                  new Selector(
                      List.of(
                          Requirement.equalTo("k8s:" + Label.POD_NAMESPACE, "kube-system"),
                          Requirement.equalTo("k8s:k8s-app", "kube-dns")))));
        } else {
          peers.add(new Peer.Entities(entity));
        }
      }
    }

    List<PortRule> ports = new ArrayList<>();
    List<Tree> toPorts = item.field("toPorts").list();
    for (Tree pr : toPorts) {
      Set<String> prFields =
          deny
              ? Set.of("ports")
              : Set.of(
                  "ports", "rules", "terminatingTLS", "originatingTLS", "serverNames", "listener");
      pr.onlyFields(prFields);
      List<Tree> pp = pr.field("ports").list();
      if (pp.size() > 40) {
        throw pr.field("ports").error("has " + pp.size() + " ports; at most 40 are allowed");
      }
      for (Tree port : pp) {
        port.onlyFields(Set.of("port", "endPort", "protocol"));
        ports.add(portRule(port, Protocol.ANY, true));
      }
      if (pr.has("rules") && !pr.field("rules").isNull()) {
        l7Rules(pr.field("rules"), pp, unenforced);
      }
      for (String tls : List.of("terminatingTLS", "originatingTLS", "serverNames", "listener")) {
        if (pr.has(tls)) {
          unenforced.add(
              pr.field(tls).path() + ": TLS interception and listeners are not supported yet");
        }
      }
    }
    for (Tree icmp : item.field("icmps").list()) {
      icmp.onlyFields(Set.of("fields"));
      List<Tree> fieldsList = icmp.field("fields").list();
      if (fieldsList.size() > 40) {
        throw icmp.field("fields").error("has " + fieldsList.size() + " entries; at most 40");
      }
      for (Tree f : fieldsList) {
        f.onlyFields(Set.of("family", "type"));
        String family = f.field("family").string();
        boolean v6;
        if (family == null || family.equals("IPv4")) {
          v6 = false;
        } else if (family.equals("IPv6")) {
          v6 = true;
        } else {
          throw f.field("family").invalid("is not an ICMP family (IPv4 or IPv6)");
        }
        String type = f.field("type").scalarText();
        if (type == null) {
          throw f.field("type").error("is required");
        }
        int t =
            IcmpTypes.parse(type, v6)
                .orElseThrow(
                    () ->
                        f.field("type")
                            .invalid(
                                "is not an "
                                    + (v6 ? "ICMPv6" : "ICMP")
                                    + " type (0..255 or a name such as "
                                    + (v6 ? "EchoRequest" : "Echo")
                                    + ")"));
        ports.add(PortRule.of(v6 ? Protocol.ICMPV6 : Protocol.ICMP, t));
      }
    }

    Tree auth = item.field("authentication");
    if (!auth.isNull()) {
      auth.onlyFields(Set.of("mode"));
      String mode = auth.field("mode").requiredString();
      switch (mode) {
        case "disabled" -> {}
        case "required", "test-always-fail" ->
            unenforced.add(
                auth.path() + ": mutual authentication (mode " + mode + ") is not enforced yet");
        default -> throw auth.field("mode").invalid("is not a mode (disabled, required)");
      }
    }

    if (peers == null || !peers.isEmpty() || dnsPeers.isEmpty()) {
      out.add(new RuleItem(ref, direction, deny, peers, ports));
    }
    if (!dnsPeers.isEmpty()) {
      List<PortRule> dnsPorts =
          ports.isEmpty()
              ? List.of(PortRule.of(Protocol.UDP, 53), PortRule.of(Protocol.TCP, 53))
              : ports;
      out.add(new RuleItem(ref, direction, deny, dnsPeers, dnsPorts));
    }
  }

  private static void l7Rules(Tree rules, List<Tree> ports, List<String> unenforced) {
    rules.onlyFields(Set.of("http", "dns", "kafka", "l7proto", "l7"));
    for (String removed : List.of("kafka", "l7proto", "l7")) {
      if (rules.has(removed)) {
        throw rules.field(removed).error("is not supported (removed from Cilium in 1.20)");
      }
    }
    for (Tree h : rules.field("http").list()) {
      h.onlyFields(Set.of("path", "method", "host", "headers", "headerMatches"));
      for (String re : List.of("path", "method", "host")) {
        String v = h.field(re).string();
        if (v != null) {
          try {
            Pattern.compile(v);
          } catch (PatternSyntaxException e) {
            throw h.field(re).invalid("is not a regular expression: " + e.getDescription());
          }
        }
      }
      for (Tree hd : h.field("headers").list()) {
        hd.requiredString();
      }
      for (Tree hm : h.field("headerMatches").list()) {
        hm.onlyFields(Set.of("name", "value", "secret", "mismatch"));
        hm.field("name").requiredString();
        String mm = hm.field("mismatch").string();
        if (mm != null && !Set.of("LOG", "ADD", "DELETE", "REPLACE").contains(mm)) {
          throw hm.field("mismatch").invalid("is not LOG, ADD, DELETE or REPLACE");
        }
      }
    }
    for (Tree d : rules.field("dns").list()) {
      fqdnSelector(d);
    }
    if (rules.has("http")) {
      unenforced.add(
          rules.field("http").path() + ": L7 HTTP rules are not enforced yet (needs the L7 proxy)");
    }
    if (rules.has("dns")) {
      unenforced.add(
          rules.field("dns").path() + ": L7 DNS rules are not enforced yet (needs the DNS proxy)");
    }
    if (ports.isEmpty()) {
      throw rules.error("L7 rules need at least one port in the same toPorts entry");
    }
  }

  private static void fqdnSelector(Tree f) {
    f.onlyFields(Set.of("matchName", "matchPattern"));
    String name = f.field("matchName").string();
    String pattern = f.field("matchPattern").string();
    if ((name == null) == (pattern == null)) {
      throw f.error("needs exactly one of matchName or matchPattern");
    }
    if (name != null && (name.length() > 255 || !FQDN_NAME.matcher(name).matches())) {
      throw f.field("matchName").invalid("is not a DNS name");
    }
    if (pattern != null && (pattern.length() > 255 || !FQDN_PATTERN.matcher(pattern).matches())) {
      throw f.field("matchPattern")
          .invalid("is not a DNS pattern (letters, digits, '-', '_', '*' and dots)");
    }
  }

  // ---- shared pieces --------------------------------------------------------------------------

  /** matchLabels and matchExpressions. */
  static Selector selector(Tree t) {
    if (t.isNull()) {
      return Selector.ALL;
    }
    t.onlyFields(Set.of("matchLabels", "matchExpressions"));
    List<Requirement> rs = new ArrayList<>();
    for (Map.Entry<String, String> e : t.field("matchLabels").stringMap().entrySet()) {
      String key = selectorKey(t.field("matchLabels").field(e.getKey()), e.getKey());
      rs.add(Requirement.equalTo(key, e.getValue()));
    }
    for (Tree x : t.field("matchExpressions").list()) {
      x.onlyFields(Set.of("key", "operator", "values"));
      String key = selectorKey(x.field("key"), x.field("key").requiredString());
      String opText = x.field("operator").requiredString();
      Requirement.Operator op =
          Requirement.Operator.parse(opText)
              .orElseThrow(
                  () ->
                      x.field("operator")
                          .invalid("is not an operator (In, NotIn, Exists, DoesNotExist)"));
      List<String> values = new ArrayList<>();
      for (Tree v : x.field("values").list()) {
        values.add(v.requiredString());
      }
      boolean needsValues = op == Requirement.Operator.IN || op == Requirement.Operator.NOT_IN;
      if (needsValues && values.isEmpty()) {
        throw x.field("values").error("must not be empty for operator " + opText);
      }
      if (!needsValues && !values.isEmpty()) {
        throw x.field("values").error("must be empty for operator " + opText);
      }
      rs.add(new Requirement(key, op, values));
    }
    return new Selector(rs);
  }

  /** A selector key: {@code key}, {@code source:key} or {@code any:key} (same as {@code key}). */
  private static String selectorKey(Tree at, String key) {
    int colon = key.indexOf(':');
    if (colon < 0) {
      return key;
    }
    String source = key.substring(0, colon);
    String bare = key.substring(colon + 1);
    if (source.equals("any")) {
      return bare;
    }
    if (LabelSource.fromPrefix(source).isEmpty()) {
      throw at.error(
          "\"" + key + "\": unknown label source \"" + source + "\" (k8s, reserved, cidr, any)");
    }
    if (bare.isEmpty()) {
      throw at.error("\"" + key + "\": the key is empty");
    }
    return key;
  }

  private static PortRule portRule(Tree p, Protocol defaultProtocol, boolean cilium) {
    Protocol protocol = protocol(p.field("protocol"), defaultProtocol, cilium);
    Tree portField = p.field("port");
    String text = portField.scalarText();
    Tree endField = p.field("endPort");
    int end = 0;
    if (!endField.isNull()) {
      end = port(endField, false);
    }
    if (text == null || text.isEmpty()) {
      if (end != 0) {
        throw endField.error("endPort needs a port");
      }
      return new PortRule(protocol, 0, 0, null);
    }
    if (text.matches("-?\\d+")) {
      int port = port(portField, true);
      if (end != 0 && end < port) {
        throw endField.invalid("is less than port " + port);
      }
      if (end != 0 && port == 0) {
        throw endField.error("endPort needs a port other than 0");
      }
      return new PortRule(protocol, port, end == port ? 0 : end, null);
    }
    checkPortName(portField);
    if (end != 0) {
      throw endField.error("endPort cannot be used with a named port (\"" + text + "\")");
    }
    return new PortRule(protocol, 0, 0, text);
  }

  private static int port(Tree t, boolean allowZero) {
    String text = t.scalarText();
    if (text == null) {
      throw t.error("is required");
    }
    int n;
    try {
      n = Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw t.invalid("is not a port");
    }
    if (n < (allowZero ? 0 : 1) || n > 65535) {
      throw t.invalid("is not a port");
    }
    return n;
  }

  private static void checkPortName(Tree t) {
    String name = t.scalarText();
    if (name.length() > 15 || !PORT_NAME.matcher(name).matches() || !name.matches(".*[a-z].*")) {
      throw t.invalid(
          "is not a port number or port name (names: at most 15 lower-case letters, digits, '-')");
    }
  }

  private static Protocol protocol(Tree t, Protocol dflt, boolean allowAny) {
    String text = t.string();
    if (text == null) {
      return dflt;
    }
    Protocol p =
        Protocol.parsePortProtocol(text)
            .filter(x -> allowAny || x != Protocol.ANY)
            .orElseThrow(
                () -> t.invalid("is not a protocol (TCP, UDP, SCTP" + (allowAny ? ", ANY)" : ")")));
    return p;
  }

  private static Cidr cidr(Tree t, boolean requirePrefix) {
    String text = t.requiredString();
    String withPrefix = text;
    if (!text.contains("/")) {
      if (requirePrefix) {
        throw t.invalid("is not a CIDR (address/prefix)");
      }
      withPrefix = text + (text.contains(":") ? "/128" : "/32");
    }
    try {
      return Cidr.parse(withPrefix);
    } catch (IllegalArgumentException e) {
      throw t.error(e.getMessage());
    }
  }

  private static List<Cidr> excepts(Tree t, Cidr base) {
    List<Cidr> out = new ArrayList<>();
    for (Tree e : t.list()) {
      Cidr c = cidr(e, true);
      if (c.family() != base.family() || !base.contains(c)) {
        throw e.invalid("is not inside " + base);
      }
      out.add(c);
    }
    return out;
  }

  /**
   * {@code cilium.io/encrypt}: "true" or "false"; anything else is refused, so that a typo never
   * silently means "in clear".
   */
  private static boolean encrypted(Tree doc, Metadata meta) {
    String v = meta.annotations.get(ENCRYPT_ANNOTATION);
    if (v == null || v.equalsIgnoreCase("false")) {
      return false;
    }
    if (v.equalsIgnoreCase("true")) {
      return true;
    }
    throw doc.field("metadata")
        .field("annotations")
        .field(ENCRYPT_ANNOTATION)
        .invalid("is not \"true\" or \"false\"");
  }

  private static boolean audited(Metadata meta) {
    return "true".equalsIgnoreCase(meta.annotations.getOrDefault(AUDIT_ANNOTATION, ""));
  }
}
