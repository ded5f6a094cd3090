package io.porin.identity.join;

import io.porin.identity.config.PorinConfig;
import io.porin.service.tls.FirstCertificate;
import io.porin.tls.CertificateAuthority;
import io.porin.tls.PeerIdentity;
import io.porin.tls.TlsException;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * The identity service's first certificate: it holds the CA key ({@code porin.ca.dir}), so it
 * issues its own when it has none (a pod's first start), as it renews its own later.
 */
@Singleton
public class SelfIssued implements FirstCertificate {
  private static final Logger LOG = Logger.getLogger(SelfIssued.class);
  private final PorinConfig config;

  SelfIssued(PorinConfig config) {
    this.config = config;
  }

  @Override
  public void obtain(Path bundle) {
    Path dir =
        config
            .ca()
            .dir()
            .orElseThrow(
                () ->
                    new TlsException(
                        "no certificate at "
                            + bundle
                            + " and no CA key (porin.ca.dir) to issue one"));
    CertificateAuthority ca = CertificateAuthority.load(dir);
    ca.writeBundle(
        bundle, ca.issue(PeerIdentity.service("identity"), List.of(), config.ca().leafValidity()));
    LOG.infof("issued this service's own first certificate to %s", bundle);
  }
}
