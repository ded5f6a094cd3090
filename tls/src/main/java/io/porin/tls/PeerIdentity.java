package io.porin.tls;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Who a certificate speaks for. Written into every certificate the cluster CA issues as the URI SAN
 * {@code spiffe://porin/<kind>/<name>} and as the subject CN {@code <kind>.<name>} (etcd takes the
 * CN as the user name, and etcd user names must not contain a colon).
 *
 * @param kind what the holder is
 * @param name which one: a service's name, a node's name, a user's name
 */
public record PeerIdentity(Kind kind, String name) {
  /** The URI scheme and trust domain of every Porin identity. */
  public static final String TRUST_DOMAIN_PREFIX = "spiffe://porin/";

  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?");

  /** What holds a certificate, and so what it may do. */
  public enum Kind {
    /** A control-plane service (identity, ipam, policy, relay, dns, clustermesh). */
    SERVICE("svc"),
    /** A node agent: it may act for its own node only. */
    NODE("node"),
    /** An operator with the CLI: everything. */
    ADMIN("admin"),
    /** A dashboard or read-only user: reads, never writes. */
    READER("reader");

    private final String label;

    Kind(String label) {
      this.label = label;
    }

    /** The kind as written in certificates ({@code svc}, {@code node}, ...). */
    public String label() {
      return label;
    }

    /** The kind written {@code label}, or empty. */
    public static Optional<Kind> ofLabel(String label) {
      for (Kind k : values()) {
        if (k.label.equals(label)) {
          return Optional.of(k);
        }
      }
      return Optional.empty();
    }
  }

  public PeerIdentity {
    if (kind == null) {
      throw new IllegalArgumentException("an identity needs a kind");
    }
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "name \""
              + name
              + "\" of a "
              + (kind == null ? "" : kind.label)
              + " identity is not a DNS-style name (lower-case letters, digits, '-' and '.',"
              + " at most 63 characters)");
    }
  }

  /** A service's identity. */
  public static PeerIdentity service(String name) {
    return new PeerIdentity(Kind.SERVICE, name);
  }

  /** A node agent's identity. */
  public static PeerIdentity node(String name) {
    return new PeerIdentity(Kind.NODE, name);
  }

  /** {@code spiffe://porin/<kind>/<name>}. */
  public String uri() {
    return TRUST_DOMAIN_PREFIX + kind.label + "/" + name;
  }

  /** {@code <kind>.<name>}: the subject CN, and the etcd user name. */
  public String commonName() {
    return kind.label + "." + name;
  }

  @Override
  public String toString() {
    return kind.label + "/" + name;
  }

  /** Parses {@code spiffe://porin/<kind>/<name>}; empty when it is not one. */
  public static Optional<PeerIdentity> ofUri(String uri) {
    if (uri == null || !uri.startsWith(TRUST_DOMAIN_PREFIX)) {
      return Optional.empty();
    }
    String rest = uri.substring(TRUST_DOMAIN_PREFIX.length());
    int slash = rest.indexOf('/');
    if (slash < 0) {
      return Optional.empty();
    }
    Optional<Kind> kind = Kind.ofLabel(rest.substring(0, slash));
    String name = rest.substring(slash + 1);
    if (kind.isEmpty() || !NAME.matcher(name).matches()) {
      return Optional.empty();
    }
    return Optional.of(new PeerIdentity(kind.get(), name));
  }

  /** The identity in a certificate's URI SAN; empty when it carries none (or more than one). */
  public static Optional<PeerIdentity> of(X509Certificate cert) {
    try {
      var sans = cert.getSubjectAlternativeNames();
      if (sans == null) {
        return Optional.empty();
      }
      Optional<PeerIdentity> found = Optional.empty();
      for (List<?> san : sans) {
        if (((Integer) san.get(0)) == 6) { // uniformResourceIdentifier
          Optional<PeerIdentity> id = ofUri((String) san.get(1));
          if (id.isPresent()) {
            if (found.isPresent()) {
              return Optional.empty(); // two identities: trust neither
            }
            found = id;
          }
        }
      }
      return found;
    } catch (CertificateParsingException e) {
      return Optional.empty();
    }
  }
}
