package io.porin.bench;

import java.net.InetAddress;
import java.net.ServerSocket;

/** Prints a loopback port nothing listens on (for the bench scripts). */
public final class FreePort {
  public static void main(String[] args) throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      System.out.println(s.getLocalPort());
    }
  }
}
