package io.porin.tls;

import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * This component's certificate and key, read from files and read again when they change (checked at
 * most once a second, at a handshake): a renewed certificate is used from the next handshake on,
 * without a restart, and connections already open carry on. A file pair that does not match (a
 * certificate with another key, a half-written file) is not taken; the previous pair stays.
 *
 * <p>Each pair read gets its own alias, and the last few stay answerable, so a handshake that chose
 * an alias gets that alias's certificate and key even when a reload happens in between.
 */
public final class ReloadingKeyManager extends X509ExtendedKeyManager {
  private static final System.Logger LOG = System.getLogger(ReloadingKeyManager.class.getName());
  private static final long CHECK_EVERY_MS = 1000;
  private static final int KEEP = 4;

  /** One pair as read. */
  public record Credentials(
      long generation, X509Certificate[] chain, PrivateKey key, PeerIdentity identity) {
    String alias() {
      return "porin-" + generation;
    }

    /** The leaf certificate. */
    public X509Certificate leaf() {
      return chain[0];
    }
  }

  private record Stamp(FileTime certTime, long certSize, FileTime keyTime, long keySize) {}

  private final Path certFile;
  private final Path keyFile;
  private final Clock clock;
  private final AtomicReference<List<Credentials>> recent = new AtomicReference<>(List.of());
  private volatile Stamp stamp;
  private volatile long lastCheck;
  private long generation;
  private final java.util.List<java.util.function.Consumer<Credentials>> listeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  /**
   * Reads {@code certFile} and {@code keyFile} (the same file for a Porin bundle). Fails, naming
   * the file, when they cannot be used.
   */
  public ReloadingKeyManager(Path certFile, Path keyFile, Clock clock) {
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.clock = clock;
    Stamp s = stampOf();
    Credentials c = read(1);
    generation = 1;
    recent.set(List.of(c));
    stamp = s;
    lastCheck = clock.millis();
  }

  /**
   * Calls {@code listener} with each new pair taken from now on (after the handshakes already use
   * it). Listeners must be quick and must not throw; the returned handle removes it.
   */
  public AutoCloseable onNewCertificate(java.util.function.Consumer<Credentials> listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  /** The pair in use now (reading the files again first when they changed). */
  public Credentials current() {
    maybeReload();
    return recent.get().getFirst();
  }

  /** Reads the files again now when they changed; true when a new pair was taken. */
  public boolean reloadNow() {
    Credentials taken = take();
    if (taken == null) {
      return false;
    }
    for (java.util.function.Consumer<Credentials> l : listeners) {
      try {
        l.accept(taken);
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "a listener of certificate renewal failed", e);
      }
    }
    return true;
  }

  private synchronized Credentials take() {
    lastCheck = clock.millis();
    Stamp s;
    try {
      s = stampOf();
    } catch (TlsException e) {
      LOG.log(System.Logger.Level.WARNING, e.getMessage() + "; keeping the certificate in use");
      return null;
    }
    if (s.equals(stamp)) {
      return null;
    }
    try {
      Credentials c = read(generation + 1);
      generation++;
      List<Credentials> next = new ArrayList<>();
      next.add(c);
      next.addAll(recent.get());
      recent.set(List.copyOf(next.subList(0, Math.min(KEEP, next.size()))));
      stamp = s;
      LOG.log(
          System.Logger.Level.INFO,
          "took the certificate of "
              + c.identity()
              + " from "
              + certFile
              + " (valid until "
              + c.leaf().getNotAfter().toInstant()
              + ")");
      return c;
    } catch (TlsException e) {
      LOG.log(System.Logger.Level.WARNING, e.getMessage() + "; keeping the certificate in use");
      return null;
    }
  }

  private void maybeReload() {
    if (clock.millis() - lastCheck >= CHECK_EVERY_MS) {
      reloadNow();
    }
  }

  private Stamp stampOf() {
    try {
      return new Stamp(
          Files.getLastModifiedTime(certFile),
          Files.size(certFile),
          Files.getLastModifiedTime(keyFile),
          Files.size(keyFile));
    } catch (java.io.IOException e) {
      throw new TlsException("cannot read " + certFile + " or " + keyFile + ": " + e, e);
    }
  }

  private Credentials read(long gen) {
    Pem.checkPrivate(keyFile);
    Pem.Contents certs = Pem.read(certFile);
    PrivateKey key = keyFile.equals(certFile) ? certs.key() : Pem.read(keyFile).key();
    if (certs.certificates().isEmpty()) {
      throw new TlsException(certFile + " holds no certificate");
    }
    if (key == null) {
      throw new TlsException(keyFile + " holds no private key");
    }
    X509Certificate leaf = certs.certificates().getFirst();
    if (!matches(leaf, key)) {
      throw new TlsException(
          "the private key in " + keyFile + " does not belong to the certificate in " + certFile);
    }
    PeerIdentity id =
        PeerIdentity.of(leaf)
            .orElseThrow(
                () ->
                    new TlsException(
                        "the certificate in "
                            + certFile
                            + " names no Porin identity (a URI SAN spiffe://porin/<kind>/<name>)"));
    return new Credentials(gen, certs.certificates().toArray(X509Certificate[]::new), key, id);
  }

  private static boolean matches(X509Certificate cert, PrivateKey key) {
    try {
      String alg = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
      byte[] probe = "porin-key-check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(cert.getPublicKey());
      v.update(probe);
      return v.verify(sig);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private Credentials byAlias(String alias) {
    for (Credentials c : recent.get()) {
      if (c.alias().equals(alias)) {
        return c;
      }
    }
    return null;
  }

  private String aliasFor(String keyType) {
    Credentials c = current();
    String alg = c.key().getAlgorithm();
    return keyType == null || keyType.equals(alg) || keyType.startsWith(alg + "_")
        ? c.alias()
        : null;
  }

  private String aliasFor(String[] keyTypes) {
    if (keyTypes == null) {
      return current().alias();
    }
    for (String t : keyTypes) {
      String a = aliasFor(t);
      if (a != null) {
        return a;
      }
    }
    return null;
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    String a = aliasFor(keyType);
    return a == null ? null : new String[] {a};
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return aliasFor(keyType);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return aliasFor(keyType);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return getClientAliases(keyType, issuers);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return aliasFor(keyType);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return aliasFor(keyType);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    Credentials c = byAlias(alias);
    return c == null ? null : c.chain().clone();
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    Credentials c = byAlias(alias);
    return c == null ? null : c.key();
  }

  @Override
  public String toString() {
    return "certificate of " + Objects.requireNonNull(recent.get().getFirst()).identity();
  }
}
