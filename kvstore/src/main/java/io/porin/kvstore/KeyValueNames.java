package io.porin.kvstore;

/** Rules for the parts of keys that callers name (owners, nodes). */
public final class KeyValueNames {
  private KeyValueNames() {}

  /** True when the text can stand as one key segment: no '/', no white space, no control. */
  public static boolean isSafeSegment(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '/' || Character.isWhitespace(c) || Character.isISOControl(c)) {
        return false;
      }
    }
    return true;
  }
}
