// TCP request/response, as netperf's TCP_RR: one byte each way, one transaction in flight; and
// TCP connect/request/response, as netperf's TCP_CRR: a new connection per transaction.
//   tcp_rr server PORT            (serves connections until killed)
//   tcp_rr client HOST PORT SECS  (prints transactions per second)
//   tcp_rr crr HOST PORT SECS     (prints connections per second)
// In crr the request byte is 'q': the server answers and closes first, so TIME_WAIT stays on the
// server's side (one port) and the client's ephemeral ports are never exhausted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int one = 1;
	char b = 'x';
	if (argc == 3 && strcmp(argv[1], "server") == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
		if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16)) {
			perror("tcp_rr server");
			return 1;
		}
		for (;;) {
			int c = accept(s, 0, 0);
			if (c < 0)
				continue;
			setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			while (read(c, &b, 1) == 1 && write(c, &b, 1) == 1 && b != 'q')
				;
			close(c);
		}
	}
	if (argc == 5 && strcmp(argv[1], "client") == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
		inet_pton(AF_INET, argv[2], &a.sin_addr);
		if (connect(c, (struct sockaddr *)&a, sizeof a)) {
			perror("tcp_rr client");
			return 1;
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		double secs = atof(argv[4]), start = now(), end = start + secs;
		long n = 0;
		while ((n & 255) || now() < end) {
			if (write(c, &b, 1) != 1 || read(c, &b, 1) != 1) {
				perror("tcp_rr transaction");
				return 1;
			}
			n++;
		}
		printf("%.0f\n", n / (now() - start));
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "crr") == 0) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
		inet_pton(AF_INET, argv[2], &a.sin_addr);
		double secs = atof(argv[4]), start = now(), end = start + secs;
		long n = 0, stalls = 0;
		/* a lost packet would leave a read waiting for ever: give up on that connection after
		 * 3 s, say so, and go on */
		struct timeval limit = {.tv_sec = 3};
		while ((n & 63) || now() < end) {
			int c = socket(AF_INET, SOCK_STREAM, 0);
			char q = 'q';
			if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a)) {
				perror("tcp_rr crr connect");
				return 1;
			}
			setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
			if (write(c, &q, 1) != 1 || read(c, &q, 1) != 1 || read(c, &q, 1) != 0) {
				struct sockaddr_in me;
				socklen_t len = sizeof me;
				getsockname(c, (struct sockaddr *)&me, &len);
				fprintf(stderr, "tcp_rr crr: connection from port %d stalled\n",
					ntohs(me.sin_port));
				stalls++;
			}
			close(c);
			n++;
		}
		printf("%.0f\n", (n - stalls) / (now() - start));
		if (stalls)
			fprintf(stderr, "tcp_rr crr: %ld of %ld connections stalled\n", stalls, n);
		return 0;
	}
	fprintf(stderr, "usage: tcp_rr server PORT | tcp_rr client HOST PORT SECS |"
			" tcp_rr crr HOST PORT SECS\n");
	return 2;
}
