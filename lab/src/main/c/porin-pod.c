// porin-pod: the lab's workload and probe, one small program so that no JVM runs per pod.
//
//   porin-pod serve NAME [--tcp PORT]... [--udp PORT]...
//       Answers HTTP on each TCP port (the body is "NAME\n") and echoes every datagram on each
//       UDP port, on IPv4 and IPv6 (one dual-stack socket per port). Runs until SIGTERM.
//   porin-pod probe tcp|udp|connect HOST PORT [TIMEOUT_MS]
//       TCP: connects, sends an HTTP GET, prints the body. UDP: sends a datagram and waits for
//       its echo. Exit 0 on an answer; 1 with what happened (timeout, refused, ...) otherwise.
//   porin-pod spoof SRC DST PORT SPORT [COUNT]
//       Sends COUNT (default 3) TCP SYNs from SRC:SPORT to DST:PORT through a raw socket with
//       the IP header included (IPv4 or IPv6 by the addresses), so SRC can be any address: what
//       a pod with CAP_NET_RAW can do. The kernel routes it and fills in the link layer.
//   porin-pod probe-all TIMEOUT_MS < lines of "tcp|udp HOST PORT"
//       Every probe at once (non-blocking sockets, one poll loop, one shared timeout), so a
//       reachability matrix costs one timeout, not one per blocked pair. Prints, per input line:
//       "tcp HOST PORT ok BODY" or "tcp HOST PORT fail WHY".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 64

static int listen_socket(int type, int port) {
  int fd = socket(AF_INET6, type, 0);
  if (fd < 0) {
    perror("socket");
    exit(1);
  }
  int zero = 0, one = 1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any};
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
    fprintf(stderr, "porin-pod: bind %s port %d: %s\n", type == SOCK_STREAM ? "tcp" : "udp", port,
            strerror(errno));
    exit(1);
  }
  if (type == SOCK_STREAM && listen(fd, 128) < 0) {
    perror("listen");
    exit(1);
  }
  return fd;
}

static void answer_http(int listener, const char *name) {
  int c = accept(listener, NULL, NULL);
  if (c < 0) return;
  struct timeval tv = {.tv_sec = 1};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  char req[2048];
  size_t got = 0;
  // Read until the end of the request head (or a timeout: a bare TCP probe sends nothing).
  while (got < sizeof(req) - 1) {
    ssize_t n = read(c, req + got, sizeof(req) - 1 - got);
    if (n <= 0) break;
    got += (size_t)n;
    req[got] = 0;
    if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) break;
  }
  char body[512], resp[1024];
  int blen = snprintf(body, sizeof(body), "%s\n", name);
  int rlen = snprintf(resp, sizeof(resp),
                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                      "Connection: close\r\n\r\n%s",
                      blen, body);
  ssize_t w = write(c, resp, (size_t)rlen);
  (void)w;
  close(c);
}

static void echo_udp(int fd) {
  char buf[65536];
  struct sockaddr_storage from;
  socklen_t fl = sizeof(from);
  ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
  if (n >= 0) sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
}

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

static int serve(int argc, char **argv) {
  if (argc < 1) {
    fprintf(stderr, "usage: porin-pod serve NAME [--tcp PORT]... [--udp PORT]...\n");
    return 2;
  }
  const char *name = argv[0];
  struct pollfd fds[MAX_SOCKETS];
  int tcp[MAX_SOCKETS];
  int n = 0;
  for (int i = 1; i + 1 < argc && n < MAX_SOCKETS; i += 2) {
    int port = atoi(argv[i + 1]);
    if (port <= 0 || port > 65535) {
      fprintf(stderr, "porin-pod: %s: not a port: %s\n", argv[i], argv[i + 1]);
      return 2;
    }
    int is_tcp = strcmp(argv[i], "--tcp") == 0;
    if (!is_tcp && strcmp(argv[i], "--udp") != 0) {
      fprintf(stderr, "porin-pod: unknown option %s\n", argv[i]);
      return 2;
    }
    fds[n].fd = listen_socket(is_tcp ? SOCK_STREAM : SOCK_DGRAM, port);
    fds[n].events = POLLIN;
    tcp[n] = is_tcp;
    n++;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  fprintf(stderr, "porin-pod: %s serving %d sockets\n", name, n);
  while (!stop) {
    int r = poll(fds, (nfds_t)n, 1000);
    if (r < 0 && errno != EINTR) {
      perror("poll");
      return 1;
    }
    for (int i = 0; r > 0 && i < n; i++) {
      if (!(fds[i].revents & POLLIN)) continue;
      if (tcp[i]) answer_http(fds[i].fd, name);
      else echo_udp(fds[i].fd);
    }
  }
  return 0;
}

/* A client socket for "tcp|udp HOST PORT [TIMEOUT_MS]" (argv), with its address in *ai; -1 (the
 * error printed) when HOST PORT is not a numeric address and port. */
static int client_socket(int argc, char **argv, int *is_tcp, struct addrinfo **ai) {
  *is_tcp = strcmp(argv[0], "tcp") == 0 || strcmp(argv[0], "connect") == 0;
  int timeout_ms = argc > 3 ? atoi(argv[3]) : 2000;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = *is_tcp ? SOCK_STREAM : SOCK_DGRAM,
                           .ai_flags = AI_NUMERICHOST};
  int rc = getaddrinfo(argv[1], argv[2], &hints, ai);
  if (rc != 0) {
    fprintf(stderr, "porin-pod: %s port %s: %s\n", argv[1], argv[2], gai_strerror(rc));
    return -1;
  }
  int fd = socket((*ai)->ai_family, (*ai)->ai_socktype, 0);
  struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

static int probe(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: porin-pod probe tcp|udp|connect HOST PORT [TIMEOUT_MS]\n");
    return 2;
  }
  int is_tcp;
  struct addrinfo *ai;
  int fd = client_socket(argc, argv, &is_tcp, &ai);
  if (fd < 0) return 2;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
    printf("%s\n", errno == EINPROGRESS || errno == EAGAIN ? "timeout" : strerror(errno));
    return 1;
  }
  /* connect: the TCP handshake completing is the answer (for ports that speak TLS, not HTTP) */
  if (strcmp(argv[0], "connect") == 0) {
    printf("connected\n");
    return 0;
  }
  char buf[4096];
  if (is_tcp) {
    const char *req = "GET / HTTP/1.0\r\nUser-Agent: porin-pod\r\n\r\n";
    if (write(fd, req, strlen(req)) < 0) {
      printf("%s\n", strerror(errno));
      return 1;
    }
    size_t got = 0;
    for (;;) {
      ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
      if (n < 0) {
        printf("%s\n", errno == EAGAIN ? "timeout" : strerror(errno));
        return 1;
      }
      if (n == 0 || got + (size_t)n >= sizeof(buf) - 1) {
        got += (size_t)(n > 0 ? n : 0);
        break;
      }
      got += (size_t)n;
    }
    buf[got] = 0;
    char *body = strstr(buf, "\r\n\r\n");
    if (!body) {
      printf("no HTTP answer\n");
      return 1;
    }
    printf("%s", body + 4);
    return 0;
  }
  char msg[64];
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int mlen = snprintf(msg, sizeof(msg), "porin-probe %ld.%09ld", (long)ts.tv_sec, ts.tv_nsec);
  if (send(fd, msg, (size_t)mlen, 0) < 0) {
    printf("%s\n", strerror(errno));
    return 1;
  }
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    if (n < 0) {
      printf("%s\n", errno == EAGAIN ? "timeout" : strerror(errno));
      return 1;
    }
    if (n == mlen && memcmp(buf, msg, (size_t)mlen) == 0) {
      printf("echo\n");
      return 0;
    }
  }
}


/* What the application sees of a service: TCP connects and prints getpeername() then the answer;
 * UDP sends unconnected (sendto) and prints recvfrom()'s sender, then "echo". */
static int whois(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: porin-pod whois tcp|udp HOST PORT [TIMEOUT_MS]\n");
    return 2;
  }
  int is_tcp;
  struct addrinfo *ai;
  int fd = client_socket(argc, argv, &is_tcp, &ai);
  if (fd < 0) return 2;
  struct sockaddr_storage peer;
  socklen_t plen = sizeof(peer);
  char host[INET6_ADDRSTRLEN + 1], port[8];
  char buf[4096];
  if (is_tcp) {
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
      printf("%s\n", strerror(errno));
      return 1;
    }
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0 ||
        getnameinfo((struct sockaddr *)&peer, plen, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
      printf("getpeername: %s\n", strerror(errno));
      return 1;
    }
    printf("peer %s %s\n", host, port);
    const char *req = "GET / HTTP/1.0\r\nUser-Agent: porin-pod\r\n\r\n";
    if (write(fd, req, strlen(req)) < 0) {
      printf("%s\n", strerror(errno));
      return 1;
    }
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0 && got + (size_t)n < sizeof(buf) - 1)
      got += (size_t)n;
    buf[got] = 0;
    char *body = strstr(buf, "\r\n\r\n");
    printf("%s", body ? body + 4 : "no HTTP answer\n");
    return body ? 0 : 1;
  }
  const char *msg = "porin-whois";
  if (sendto(fd, msg, strlen(msg), 0, ai->ai_addr, ai->ai_addrlen) < 0) {
    printf("%s\n", strerror(errno));
    return 1;
  }
  ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&peer, &plen);
  if (n < 0) {
    printf("%s\n", errno == EAGAIN ? "timeout" : strerror(errno));
    return 1;
  }
  if (getnameinfo((struct sockaddr *)&peer, plen, host, sizeof(host), port, sizeof(port),
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    printf("recvfrom: no sender\n");
    return 1;
  }
  printf("from %s %s\necho\n", host, port);
  return 0;
}

#define MAX_PROBES 4096

struct probe_state {
  char proto[4], host[64], port[8];
  int fd, tcp, phase;  // phase 0: connecting / awaiting echo, 1: reading the answer, 2: done
  char buf[512];
  size_t got;
  char result[160];
  char msg[48];
};

static void finish(struct probe_state *p, const char *result) {
  snprintf(p->result, sizeof(p->result), "%s", result);
  p->phase = 2;
  if (p->fd >= 0) close(p->fd);
  p->fd = -1;
}

static int probe_all(int argc, char **argv) {
  int timeout_ms = argc > 0 ? atoi(argv[0]) : 2000;
  static struct probe_state ps[MAX_PROBES];
  int n = 0;
  char line[256];
  while (n < MAX_PROBES && fgets(line, sizeof(line), stdin)) {
    struct probe_state *p = &ps[n];
    memset(p, 0, sizeof(*p));
    if (sscanf(line, "%3s %63s %7s", p->proto, p->host, p->port) != 3) continue;
    p->tcp = strcmp(p->proto, "tcp") == 0;
    p->fd = -1;
    n++;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = p->tcp ? SOCK_STREAM : SOCK_DGRAM,
                             .ai_flags = AI_NUMERICHOST};
    struct addrinfo *ai;
    if (getaddrinfo(p->host, p->port, &hints, &ai) != 0) {
      finish(p, "fail bad address");
      continue;
    }
    p->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, 0);
    int rc = connect(p->fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc < 0 && errno != EINPROGRESS) {
      char why[96];
      snprintf(why, sizeof(why), "fail %s", strerror(errno));
      finish(p, why);
      continue;
    }
    if (!p->tcp) {
      int mlen = snprintf(p->msg, sizeof(p->msg), "porin-probe %d", n);
      if (send(p->fd, p->msg, (size_t)mlen, 0) < 0) {
        char why[96];
        snprintf(why, sizeof(why), "fail %s", strerror(errno));
        finish(p, why);
      }
    }
  }
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  static struct pollfd fds[MAX_PROBES];
  static int idx[MAX_PROBES];
  for (;;) {
    int m = 0;
    for (int i = 0; i < n; i++) {
      if (ps[i].phase == 2) continue;
      fds[m].fd = ps[i].fd;
      fds[m].events = (ps[i].tcp && ps[i].phase == 0) ? POLLOUT : POLLIN;
      fds[m].revents = 0;
      idx[m++] = i;
    }
    if (m == 0) break;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (elapsed >= timeout_ms) break;
    if (poll(fds, (nfds_t)m, (int)(timeout_ms - elapsed)) < 0 && errno != EINTR) break;
    for (int k = 0; k < m; k++) {
      struct probe_state *p = &ps[idx[k]];
      if (!fds[k].revents) continue;
      if (p->tcp && p->phase == 0) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
          char why[96];
          snprintf(why, sizeof(why), "fail %s", strerror(err));
          finish(p, why);
          continue;
        }
        const char *req = "GET / HTTP/1.0\r\nUser-Agent: porin-pod\r\n\r\n";
        if (write(p->fd, req, strlen(req)) < 0) {
          finish(p, "fail write");
          continue;
        }
        p->phase = 1;
      } else if (p->tcp) {
        ssize_t r = read(p->fd, p->buf + p->got, sizeof(p->buf) - 1 - p->got);
        if (r > 0) p->got += (size_t)r;
        if (r <= 0 || p->got >= sizeof(p->buf) - 1) {
          p->buf[p->got] = 0;
          char *body = strstr(p->buf, "\r\n\r\n");
          if (!body) {
            finish(p, r < 0 ? "fail reset" : "fail no HTTP answer");
            continue;
          }
          body += 4;
          body[strcspn(body, "\r\n")] = 0;
          char res[160];
          snprintf(res, sizeof(res), "ok %s", body);
          finish(p, res);
        }
      } else {
        char buf[128];
        ssize_t r = recv(p->fd, buf, sizeof(buf), 0);
        if (r < 0) {
          char why[96];
          snprintf(why, sizeof(why), "fail %s", strerror(errno));
          finish(p, why);
        } else if ((size_t)r == strlen(p->msg) && memcmp(buf, p->msg, (size_t)r) == 0) {
          finish(p, "ok echo");
        }
      }
    }
  }
  for (int i = 0; i < n; i++) {
    if (ps[i].phase != 2) finish(&ps[i], "fail timeout");
    printf("%s %s %s %s\n", ps[i].proto, ps[i].host, ps[i].port, ps[i].result);
  }
  return 0;
}

static uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return (uint16_t)~sum;
}

static uint32_t add(uint32_t sum, const void *data, size_t len) {
  const uint8_t *b = data;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(b[i] << 8 | b[i + 1]);
  if (len & 1) sum += (uint32_t)(b[len - 1] << 8);
  return sum;
}

static int spoof(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: porin-pod spoof SRC DST PORT SPORT [COUNT]\n");
    return 2;
  }
  int count = argc > 4 ? atoi(argv[4]) : 3;
  struct tcphdr tcp = {0};
  tcp.th_sport = htons((uint16_t)atoi(argv[3]));
  tcp.th_dport = htons((uint16_t)atoi(argv[2]));
  tcp.th_seq = htonl(0x5000 + (uint32_t)getpid());
  tcp.th_off = 5;
  tcp.th_flags = TH_SYN;
  tcp.th_win = htons(64240);
  unsigned char pkt[sizeof(struct ip6_hdr) + sizeof(tcp)];
  struct in_addr s4, d4;
  struct in6_addr s6, d6;
  int fd;
  size_t len;
  struct sockaddr_storage to = {0};
  socklen_t tolen;
  uint32_t sum = 0;
  if (inet_pton(AF_INET, argv[0], &s4) == 1 && inet_pton(AF_INET, argv[1], &d4) == 1) {
    struct ip ip = {0};
    ip.ip_v = 4;
    ip.ip_hl = 5;
    ip.ip_len = htons(sizeof(ip) + sizeof(tcp));
    ip.ip_ttl = 64;
    ip.ip_p = IPPROTO_TCP;
    ip.ip_src = s4;
    ip.ip_dst = d4;
    sum = add(0, &s4, 4);
    sum = add(sum, &d4, 4);
    sum += IPPROTO_TCP + sizeof(tcp);
    tcp.th_sum = htons(fold(add(sum, &tcp, sizeof(tcp))));
    memcpy(pkt, &ip, sizeof(ip));
    memcpy(pkt + sizeof(ip), &tcp, sizeof(tcp));
    len = sizeof(ip) + sizeof(tcp);
    fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    struct sockaddr_in *a = (struct sockaddr_in *)&to;
    a->sin_family = AF_INET;
    a->sin_addr = d4;
    tolen = sizeof(*a);
  } else if (inet_pton(AF_INET6, argv[0], &s6) == 1 && inet_pton(AF_INET6, argv[1], &d6) == 1) {
    struct ip6_hdr ip6 = {0};
    ip6.ip6_flow = htonl(6u << 28);
    ip6.ip6_plen = htons(sizeof(tcp));
    ip6.ip6_nxt = IPPROTO_TCP;
    ip6.ip6_hops = 64;
    ip6.ip6_src = s6;
    ip6.ip6_dst = d6;
    sum = add(0, &s6, 16);
    sum = add(sum, &d6, 16);
    sum += IPPROTO_TCP + sizeof(tcp);
    tcp.th_sum = htons(fold(add(sum, &tcp, sizeof(tcp))));
    memcpy(pkt, &ip6, sizeof(ip6));
    memcpy(pkt + sizeof(ip6), &tcp, sizeof(tcp));
    len = sizeof(ip6) + sizeof(tcp);
    fd = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&to;
    a->sin6_family = AF_INET6;
    a->sin6_addr = d6;
    tolen = sizeof(*a);
  } else {
    fprintf(stderr, "porin-pod: %s and %s are not two addresses of one family\n", argv[0], argv[1]);
    return 2;
  }
  if (fd < 0) {
    perror("porin-pod: raw socket (needs CAP_NET_RAW)");
    return 1;
  }
  for (int i = 0; i < count; i++) {
    if (sendto(fd, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) {
      perror("porin-pod: sendto");
      return 1;
    }
    usleep(50000);
  }
  close(fd);
  printf("sent %d SYN from %s:%s to %s:%s\n", count, argv[0], argv[3], argv[1], argv[2]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "serve") == 0) return serve(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "probe") == 0) return probe(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "probe-all") == 0) return probe_all(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "spoof") == 0) return spoof(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "whois") == 0) return whois(argc - 2, argv + 2);
  fprintf(stderr,
          "usage: porin-pod serve NAME [--tcp PORT]... [--udp PORT]...\n"
          "       porin-pod probe tcp|udp|connect HOST PORT [TIMEOUT_MS]\n"
          "       porin-pod probe-all TIMEOUT_MS < lines of \"tcp|udp HOST PORT\"\n"
          "       porin-pod spoof SRC DST PORT SPORT [COUNT]\n"
          "       porin-pod whois tcp|udp HOST PORT [TIMEOUT_MS]\n");
  return 2;
}
