package io.porin.dns.zone;

/**
 * One question of a query, as the wire carries it.
 *
 * @param name the name as asked (any case, trailing dot or not)
 * @param type the record type number ({@link #A}, {@link #AAAA}, ...)
 * @param dnsClass the class number ({@link #IN} is the only one answered)
 */
public record Question(String name, int type, int dnsClass) {
  public static final int A = 1;
  public static final int NS = 2;
  public static final int SOA = 6;
  public static final int PTR = 12;
  public static final int AAAA = 28;
  public static final int SRV = 33;
  public static final int IXFR = 251;
  public static final int AXFR = 252;
  public static final int ANY = 255;

  /** The Internet class. */
  public static final int IN = 1;

  public static Question in(String name, int type) {
    return new Question(name, type, IN);
  }
}
