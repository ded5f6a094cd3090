package io.porin.cli;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as flags take them: 500ms, 30s, 2m, 1h, 1d, or combined (1m30s). */
public final class Durations {
  private Durations() {}

  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  /**
   * @throws IllegalArgumentException naming the flag and the value
   */
  public static Duration parse(String flag, String value) {
    Matcher m = PART.matcher(value);
    Duration d = Duration.ZERO;
    int at = 0;
    while (at < value.length() && m.find(at) && m.start() == at) {
      long n = Long.parseLong(m.group(1));
      d =
          d.plus(
              switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
              });
      at = m.end();
    }
    if (at == 0 || at != value.length()) {
      throw new IllegalArgumentException(
          flag + ": \"" + value + "\" is not a duration (500ms, 30s, 2m, 1h, 1m30s)");
    }
    return d;
  }

  /** The picocli converter for Duration options. */
  public static final class Converter implements picocli.CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String v) {
      try {
        return parse("duration", v);
      } catch (IllegalArgumentException e) {
        throw new picocli.CommandLine.TypeConversionException(
            "\"" + v + "\" is not a duration (500ms, 30s, 2m, 1h, 1m30s)");
      }
    }
  }
}
