import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * Rewrites jars without their signature files (META-INF/*.SF, *.RSA, *.DSA, *.EC). A signed jar's
 * classes are never put in a class-data or ahead-of-time cache, and each of them is verified as it
 * loads; the CLI's copies of Bouncy Castle's jars are its own. Usage: java Unsign.java JAR...
 */
public class Unsign {
  public static void main(String[] args) throws IOException {
    for (String a : args) {
      Path jar = Path.of(a);
      Path tmp = jar.resolveSibling(jar.getFileName() + ".tmp");
      try (var in = new ZipInputStream(Files.newInputStream(jar));
          var out = new ZipOutputStream(Files.newOutputStream(tmp))) {
        for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
          String n = e.getName();
          if (n.startsWith("META-INF/") && n.matches("META-INF/[^/]+\\.(SF|RSA|DSA|EC)")) {
            continue;
          }
          out.putNextEntry(new ZipEntry(n));
          in.transferTo(out);
          out.closeEntry();
        }
      }
      Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
