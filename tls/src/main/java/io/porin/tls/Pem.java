package io.porin.tls;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/**
 * PEM files: certificates and PKCS#8 private keys, read with Bouncy Castle's parser and written
 * atomically (a new file renamed into place), keys with mode 0600 from the first byte.
 */
public final class Pem {
  private Pem() {}

  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");

  /** What a PEM file holds: certificates in file order, and at most one private key. */
  public record Contents(List<X509Certificate> certificates, PrivateKey key) {}

  /** Reads every certificate and the private key (if any) in {@code file}. */
  public static Contents read(Path file) {
    try {
      return parse(Files.readString(file, StandardCharsets.US_ASCII), file.toString());
    } catch (IOException e) {
      throw new TlsException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /** Parses PEM text; {@code source} names it in errors. */
  public static Contents parse(String text, String source) {
    List<X509Certificate> certs = new ArrayList<>();
    PrivateKey key = null;
    var converter = new JcaX509CertificateConverter();
    var keys = new JcaPEMKeyConverter();
    try (PEMParser p = new PEMParser(new StringReader(text))) {
      for (Object o = p.readObject(); o != null; o = p.readObject()) {
        switch (o) {
          case X509CertificateHolder h -> certs.add(converter.getCertificate(h));
          case PrivateKeyInfo info -> key = keys.getPrivateKey(info);
          case PEMKeyPair pair -> key = keys.getKeyPair(pair).getPrivate();
          default ->
              throw new TlsException(
                  source + " holds a PEM object Porin does not read: " + o.getClass().getName());
        }
      }
    } catch (IOException | CertificateException e) {
      throw new TlsException(source + " is not valid PEM: " + e.getMessage(), e);
    }
    return new Contents(List.copyOf(certs), key);
  }

  /** Certificates, then the key (PKCS#8) when not null, as PEM text. */
  public static String encode(List<X509Certificate> certs, PrivateKey key) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      for (X509Certificate c : certs) {
        w.writeObject(c);
      }
      if (key != null) {
        w.writeObject(new JcaPKCS8Generator(key, null));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /**
   * Writes {@code text} to {@code file} atomically: readers see the old file or the new one, never
   * a part. With {@code secret} the file is created 0600 before anything is written to it.
   */
  public static void writeAtomically(Path file, String text, boolean secret) {
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
    try {
      Files.createDirectories(dir);
      Files.deleteIfExists(tmp);
      if (secret) {
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
      }
      Files.writeString(
          tmp,
          text,
          StandardCharsets.US_ASCII,
          StandardOpenOption.CREATE,
          StandardOpenOption.TRUNCATE_EXISTING,
          StandardOpenOption.WRITE);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (FileAlreadyExistsException e) {
      throw new TlsException("cannot write " + file + ": " + tmp + " appeared meanwhile", e);
    } catch (IOException e) {
      throw new TlsException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** Refuses a key file that others than its owner may read. */
  public static void checkPrivate(Path file) {
    try {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
      for (PosixFilePermission p : perms) {
        if (p.name().startsWith("GROUP") || p.name().startsWith("OTHERS")) {
          throw new TlsException(
              file
                  + " holds a private key but its mode is "
                  + PosixFilePermissions.toString(perms)
                  + "; it must be readable by its owner only (chmod 600)");
        }
      }
    } catch (IOException e) {
      throw new TlsException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
