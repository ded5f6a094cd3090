package io.porin.service.tls;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCalls;
import io.porin.tls.CertificateAuthority;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import io.porin.tls.Pem;
import io.porin.tls.TlsException;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Renews this component's certificate before it expires, without a restart: at two thirds of its
 * lifetime a new key is made here, the identity service signs it for the identity the current
 * certificate proves ({@code porin.ca.v1.Certificates/Renew}; the identity service signs its own
 * locally), and the new bundle replaces the old one atomically. The key manager takes it at the
 * next handshake; open connections and streams carry on. A failed attempt is retried every 10 s
 * while the old certificate is still valid, so a restart in between finds one of the two.
 */
@Singleton
public class CertificateRenewal {
  private static final Logger LOG = Logger.getLogger(CertificateRenewal.class);
  private static final Duration RETRY = Duration.ofSeconds(10);

  static final MethodDescriptor<byte[], byte[]> RENEW =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("porin.ca.v1.Certificates/Renew")
          .setRequestMarshaller(new Bytes())
          .setResponseMarshaller(new Bytes())
          .build();

  private final ServiceTls tls;
  private final TlsConfig config;
  private final Instance<LocalSigner> local;
  private volatile Thread loop;
  private volatile Instant renewed;

  public CertificateRenewal(ServiceTls tls, TlsConfig config, Instance<LocalSigner> local) {
    this.tls = tls;
    this.config = config;
    this.local = local;
  }

  void onStart(@Observes StartupEvent ev) {
    if (tls.insecure()) {
      return;
    }
    if (!local.isResolvable() && config.renewFrom().isEmpty()) {
      LOG.infof(
          "certificate renewal is not configured (porin.tls.renew-from): the certificate in %s"
              + " must be renewed from outside before %s",
          config.cert().orElseThrow(), tls.cluster().orElseThrow().notAfter());
      return;
    }
    if (!bundle().equals(config.key().orElse(bundle()))) {
      LOG.infof(
          "certificate and key are separate files (%s, %s): renewed from outside",
          bundle(), config.key().orElseThrow());
      return;
    }
    loop = Thread.ofVirtual().name("certificate-renewal").start(this::run);
  }

  void onStop(@Observes ShutdownEvent ev) {
    Thread t = loop;
    if (t != null) {
      t.interrupt();
    }
  }

  /** When the certificate was last renewed here, or null. */
  public Instant lastRenewal() {
    return renewed;
  }

  /**
   * When the current certificate should be renewed: two thirds into its lifetime, counted from when
   * it was issued (the CA backdates notBefore by a minute for clocks behind).
   */
  static Instant renewAt(X509Certificate cert) {
    Instant to = cert.getNotAfter().toInstant();
    Instant from = io.porin.tls.Revocations.issuedAt(cert);
    if (!from.isBefore(to)) {
      from = cert.getNotBefore().toInstant();
    }
    return from.plus(Duration.between(from, to).multipliedBy(2).dividedBy(3));
  }

  private void run() {
    ClusterTls t = tls.cluster().orElseThrow();
    while (!Thread.currentThread().isInterrupted()) {
      X509Certificate current = t.keys().current().leaf();
      long wait = Duration.between(Instant.now(), renewAt(current)).toMillis();
      try {
        if (wait > 0) {
          Thread.sleep(wait);
        }
        renewNow();
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        LOG.warnf(
            "renewing the certificate of %s failed (it stays valid until %s; again in %d s): %s",
            t.self(), current.getNotAfter().toInstant(), RETRY.toSeconds(), e.getMessage());
        try {
          Thread.sleep(RETRY.toMillis());
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  /** Renews now: a new key, signed for this component's identity, in place of the old bundle. */
  public synchronized void renewNow() {
    ClusterTls t = tls.cluster().orElseThrow(() -> new TlsException("TLS is off"));
    PeerIdentity self = t.self();
    X509Certificate current = t.keys().current().leaf();
    KeyPair pair = CertificateAuthority.newKeyPair();
    List<X509Certificate> chain =
        local.isResolvable() ? local.get().sign(self, current, pair.getPublic()) : remote(t, pair);
    if (chain.isEmpty()
        || !chain.getFirst().getPublicKey().equals(pair.getPublic())
        || !PeerIdentity.of(chain.getFirst()).map(self::equals).orElse(false)) {
      throw new TlsException("the renewed certificate is not for " + self + " and its new key");
    }
    Pem.writeAtomically(bundle(), Pem.encode(chain, pair.getPrivate()), true);
    t.keys().reloadNow();
    renewed = Instant.now();
    LOG.infof(
        "renewed the certificate of %s: valid until %s",
        self, chain.getFirst().getNotAfter().toInstant());
  }

  private List<X509Certificate> remote(ClusterTls t, KeyPair pair) {
    ManagedChannel channel =
        ClusterChannels.builder(
                config.renewFrom().orElseThrow(),
                java.util.Optional.of(t),
                PeerIdentity.service("identity"))
            .build();
    try {
      byte[] answer =
          ClientCalls.blockingUnaryCall(
              channel,
              RENEW,
              CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
              encodeRenewRequest(pair.getPublic().getEncoded()));
      return Pem.parse(decodeChain(answer), "the identity service's answer").certificates();
    } finally {
      channel.shutdownNow();
    }
  }

  private Path bundle() {
    return config.cert().orElseThrow();
  }

  /** {@code RenewRequest{public_key = 1}} in protobuf's wire format. */
  static byte[] encodeRenewRequest(byte[] publicKey) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0x0A); // field 1, length-delimited
    writeVarint(out, publicKey.length);
    out.writeBytes(publicKey);
    return out.toByteArray();
  }

  /** {@code RenewResponse.certificate_chain_pem} (field 1) from protobuf's wire format. */
  static String decodeChain(byte[] message) {
    int i = 0;
    while (i < message.length) {
      long[] tag = readVarint(message, i);
      i = (int) tag[1];
      int field = (int) (tag[0] >>> 3);
      int type = (int) (tag[0] & 7);
      switch (type) {
        case 0 -> i = (int) readVarint(message, i)[1];
        case 1 -> i += 8;
        case 5 -> i += 4;
        case 2 -> {
          long[] len = readVarint(message, i);
          int start = (int) len[1];
          int end = Math.addExact(start, (int) len[0]);
          if (end > message.length) {
            throw new TlsException("a truncated answer to Renew");
          }
          if (field == 1) {
            return new String(message, start, end - start, StandardCharsets.UTF_8);
          }
          i = end;
        }
        default -> throw new TlsException("an answer to Renew that is not protobuf");
      }
    }
    throw new TlsException("an answer to Renew without a certificate");
  }

  private static void writeVarint(ByteArrayOutputStream out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.write((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  /** The varint at {@code i}: its value and the index after it. */
  private static long[] readVarint(byte[] b, int i) {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i >= b.length) {
        throw new TlsException("a truncated answer to Renew");
      }
      byte x = b[i++];
      v |= (long) (x & 0x7F) << shift;
      if ((x & 0x80) == 0) {
        return new long[] {v, i};
      }
    }
    throw new TlsException("a malformed answer to Renew");
  }

  /** Messages as bytes: the request and answer are encoded above. */
  private static final class Bytes implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new TlsException("reading the answer to Renew: " + e.getMessage(), e);
      }
    }
  }
}
