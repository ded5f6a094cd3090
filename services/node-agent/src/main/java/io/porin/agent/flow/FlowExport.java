package io.porin.agent.flow;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.porin.api.hubble.flow.Flow;
import io.porin.api.hubble.observer.GetFlowsResponse;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Long retention beyond the ring: every flow appended to a JSON-lines file, one GetFlowsResponse
 * per line as {@code hubble observe -o jsonpb} prints it (Hubble's exporter format), rotated when
 * it reaches its size: {@code flows.jsonl} becomes {@code flows.jsonl.1}, ... up to the number of
 * files kept; the oldest is removed.
 */
public final class FlowExport implements AutoCloseable {
  private static final JsonFormat.Printer JSON =
      JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();

  private final Path file;
  private final long maxBytes;
  private final int maxFiles;
  private BufferedWriter out;
  private long size;

  public FlowExport(Path file, long maxBytes, int maxFiles) throws IOException {
    if (maxBytes < 1024 || maxFiles < 1) {
      throw new IllegalArgumentException(
          "flow export: max size "
              + maxBytes
              + " (at least 1024) and files "
              + maxFiles
              + " (at least 1)");
    }
    this.file = file;
    this.maxBytes = maxBytes;
    this.maxFiles = maxFiles;
    if (file.getParent() != null) {
      Files.createDirectories(file.getParent());
    }
    open();
  }

  private void open() throws IOException {
    out =
        Files.newBufferedWriter(
            file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    size = Files.size(file);
  }

  /** Appends a batch (the caller is the one event drain thread). */
  public synchronized void write(List<Flow> flows) {
    try {
      for (Flow f : flows) {
        String line =
            JSON.print(
                    GetFlowsResponse.newBuilder()
                        .setFlow(f)
                        .setNodeName(f.getNodeName())
                        .setTime(f.getTime())
                        .build())
                + "\n";
        out.write(line);
        size += line.length();
        if (size >= maxBytes) {
          rotate();
        }
      }
      out.flush();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void rotate() throws IOException {
    out.close();
    Files.deleteIfExists(file.resolveSibling(file.getFileName() + "." + maxFiles));
    for (int i = maxFiles - 1; i >= 1; i--) {
      Path from = file.resolveSibling(file.getFileName() + "." + i);
      if (Files.exists(from)) {
        Files.move(
            from,
            file.resolveSibling(file.getFileName() + "." + (i + 1)),
            StandardCopyOption.REPLACE_EXISTING);
      }
    }
    Files.move(
        file, file.resolveSibling(file.getFileName() + ".1"), StandardCopyOption.REPLACE_EXISTING);
    open();
  }

  @Override
  public synchronized void close() throws IOException {
    out.close();
  }
}
