package io.porin.cli.sysdump;

import java.util.regex.Pattern;

/**
 * What never goes into a bundle: private keys (PEM blocks), and the values of settings and headers
 * that name a password, secret or token. Applied to every part, whatever it is.
 */
final class Redact {
  private Redact() {}

  static final String REDACTED = "[redacted]";

  private static final Pattern PEM_KEY =
      Pattern.compile(
          "-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(-----END \\1PRIVATE KEY-----|\\z)",
          Pattern.DOTALL);
  private static final Pattern SECRET_SETTING =
      Pattern.compile(
          "(?i)([\\w.-]*(?:password|passwd|secret|token|api[-_]?key|credentials?)[\\w.-]*"
              + "\"?\\s*[=:]\\s*\"?)([^\\s\",]+)");
  private static final Pattern BEARER = Pattern.compile("(?i)(bearer\\s+)[A-Za-z0-9._~+/=-]+");

  static String text(String s) {
    String t = PEM_KEY.matcher(s).replaceAll("[private key redacted]");
    t = SECRET_SETTING.matcher(t).replaceAll("$1" + REDACTED);
    return BEARER.matcher(t).replaceAll("$1" + REDACTED);
  }
}
