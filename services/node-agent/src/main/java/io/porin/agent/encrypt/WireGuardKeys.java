package io.porin.agent.encrypt;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.KeyAgreement;

/**
 * A node's WireGuard key pair (Curve25519), kept in one file as WireGuard writes it (the private
 * key in base64, mode 0600), made once and reused across restarts. The public key is derived with
 * the JDK's X25519 (the scalar times the base point u = 9).
 */
public record WireGuardKeys(byte[] privateKey, byte[] publicKey) {
  private static final int KEY_BYTES = 32;
  private static final SecureRandom RANDOM = new SecureRandom();

  public WireGuardKeys {
    if (privateKey.length != KEY_BYTES || publicKey.length != KEY_BYTES) {
      throw new IllegalArgumentException("WireGuard keys are 32 bytes");
    }
    privateKey = privateKey.clone();
    publicKey = publicKey.clone();
  }

  /** A new pair (the private key clamped as {@code wg genkey} does). */
  public static WireGuardKeys generate() {
    byte[] k = new byte[KEY_BYTES];
    RANDOM.nextBytes(k);
    k[0] &= (byte) 248;
    k[31] &= 127;
    k[31] |= 64;
    return ofPrivate(k);
  }

  /** The pair of a private key. */
  public static WireGuardKeys ofPrivate(byte[] privateKey) {
    return new WireGuardKeys(privateKey, publicKeyOf(privateKey));
  }

  /** The pair in {@code file}, or a new one written there (0600) when there is none. */
  public static WireGuardKeys loadOrCreate(Path file) throws IOException {
    if (Files.exists(file)) {
      return load(file);
    }
    WireGuardKeys keys = generate();
    keys.save(file);
    return keys;
  }

  /**
   * The pair in {@code file}.
   *
   * @throws IOException naming the file when it holds no valid key, or is readable by others
   */
  public static WireGuardKeys load(Path file) throws IOException {
    var mode = Files.getPosixFilePermissions(file);
    if (!mode.equals(PosixFilePermissions.fromString("rw-------"))) {
      throw new IOException(
          file
              + ": mode "
              + PosixFilePermissions.toString(mode)
              + ", a private key must be rw------- (0600)");
    }
    String text = Files.readString(file).strip();
    byte[] k;
    try {
      k = Base64.getDecoder().decode(text);
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": not a base64 WireGuard key");
    }
    if (k.length != KEY_BYTES) {
      throw new IOException(file + ": a WireGuard key is 32 bytes, found " + k.length);
    }
    return ofPrivate(k);
  }

  /** Writes the private key atomically, created 0600 (never readable by others, even briefly). */
  public void save(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    Files.createFile(
        tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, privateBase64() + "\n");
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  public String publicBase64() {
    return Base64.getEncoder().encodeToString(publicKey);
  }

  public String privateBase64() {
    return Base64.getEncoder().encodeToString(privateKey);
  }

  /** The private key as the UAPI takes it. */
  public String privateHex() {
    return HexFormat.of().formatHex(privateKey);
  }

  @Override
  public byte[] privateKey() {
    return privateKey.clone();
  }

  @Override
  public byte[] publicKey() {
    return publicKey.clone();
  }

  @Override
  public String toString() {
    return "WireGuardKeys[public=" + publicBase64() + "]";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof WireGuardKeys k && java.util.Arrays.equals(publicKey, k.publicKey);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(publicKey);
  }

  private static byte[] publicKeyOf(byte[] privateKey) {
    try {
      KeyFactory kf = KeyFactory.getInstance("XDH");
      PrivateKey priv =
          kf.generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, privateKey));
      PublicKey base =
          kf.generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, BigInteger.valueOf(9)));
      KeyAgreement ka = KeyAgreement.getInstance("XDH");
      ka.init(priv);
      ka.doPhase(base, true);
      return ka.generateSecret();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("X25519 is not available in this JDK", e);
    }
  }

  /** A base64 public key as published, checked. */
  public static byte[] parsePublic(String base64) {
    byte[] k = Base64.getDecoder().decode(base64);
    if (k.length != KEY_BYTES) {
      throw new IllegalArgumentException("a WireGuard key is 32 bytes, got " + k.length);
    }
    return k;
  }
}
