// udp_flood DST_IP SECONDS: UDP datagrams to DST_IP as fast as one socket sends them, the
// destination port cycling through 1..65535 so that every packet is a new 5-tuple (a new flow
// for the datapath). Prints the number of datagrams sent and the rate.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: udp_flood DST_IP SECONDS\n");
    return 2;
  }
  struct sockaddr_in dst = {.sin_family = AF_INET};
  if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
    fprintf(stderr, "udp_flood: %s is not an IPv4 address\n", argv[1]);
    return 2;
  }
  double secs = atof(argv[2]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  char payload[32];
  memset(payload, 'x', sizeof(payload));
  long sent = 0, failed = 0;
  unsigned port = 1;
  double start = now(), end = start + secs;
  while (1) {
    for (int i = 0; i < 256; i++) {
      dst.sin_port = htons(port);
      port = port == 65535 ? 1 : port + 1;
      if (sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
        failed++;
      else
        sent++;
    }
    if (now() >= end) break;
  }
  double took = now() - start;
  printf("sent %ld failed %ld seconds %.3f rate %.0f\n", sent, failed, took, sent / took);
  return 0;
}
