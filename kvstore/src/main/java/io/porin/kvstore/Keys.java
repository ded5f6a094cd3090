package io.porin.kvstore;

/**
 * Porin's key layout in etcd. Everything lives under {@value #ROOT}; each area names its keys here
 * so that the layout can be read in one place (Cilium's kvstore layout is the model).
 *
 * <pre>
 * /porin/v1/identities/id/&lt;id&gt;                 -&gt; canonical label set      (the identity)
 * /porin/v1/identities/value/&lt;labels&gt;          -&gt; id                        (reverse index)
 * /porin/v1/identities/refs/&lt;id&gt;/&lt;owner&gt;       -&gt; owner, on the owner's lease (a reference)
 * /porin/v1/identities/owners/&lt;owner&gt;          -&gt; lease id, on that lease   (an owner)
 * </pre>
 */
public final class Keys {
  /** The root of every Porin key. */
  public static final String ROOT = "/porin/v1/";

  private Keys() {}

  /** Keys of the identity service. */
  public static final class Identities {
    public static final String PREFIX = ROOT + "identities/";
    public static final String ID_PREFIX = PREFIX + "id/";
    public static final String VALUE_PREFIX = PREFIX + "value/";
    public static final String REFS_PREFIX = PREFIX + "refs/";
    public static final String OWNERS_PREFIX = PREFIX + "owners/";

    private Identities() {}

    /** The identity's key: its value is the canonical label set. */
    public static String id(long id) {
      return ID_PREFIX + id;
    }

    /** The reverse index: canonical label set to identity. */
    public static String value(String canonicalLabels) {
      return VALUE_PREFIX + canonicalLabels;
    }

    /** The prefix of every reference to one identity. */
    public static String refs(long id) {
      return REFS_PREFIX + id + "/";
    }

    /** One owner's reference to one identity. */
    public static String ref(long id, String owner) {
      return refs(id) + owner;
    }

    /** An owner's registration, on the owner's lease. */
    public static String owner(String owner) {
      return OWNERS_PREFIX + owner;
    }

    /** The identity number of an id key. */
    public static long idOf(String idKey) {
      return Long.parseLong(idKey.substring(ID_PREFIX.length()));
    }

    /** The identity number of a reference key. */
    public static long idOfRef(String refKey) {
      String rest = refKey.substring(REFS_PREFIX.length());
      return Long.parseLong(rest.substring(0, rest.indexOf('/')));
    }
  }
}
