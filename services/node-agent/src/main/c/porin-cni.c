// SPDX-License-Identifier: Apache-2.0
/*
 * porin-cni: the CNI 1.0 plugin. Thin on purpose: it forwards the call (CNI_* environment and the
 * network configuration from stdin) to the node agent over its unix socket and prints the agent's
 * answer, so creating a pod costs no JVM start. VERSION is answered here.
 *
 * Socket: $PORIN_CNI_SOCKET, else the configuration's "agent-socket", else /var/run/porin/cni.sock.
 * Wire format: the request is one JSON object {"env":{...},"config":"<stdin>"} and the end of
 * the stream; the answer is "<exit code>\n" followed by what to print.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/var/run/porin/cni.sock"
#define VERSIONS "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]"

static const char *ENV_KEYS[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME",
				 "CNI_ARGS", "CNI_PATH", NULL};

struct buf {
	char *data;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc(b->data, b->cap);
		if (!b->data) {
			perror("porin-cni");
			exit(1);
		}
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_json_string(struct buf *b, const char *s, size_t n)
{
	char esc[8];
	puts_(b, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(b, esc, 6);
		} else {
			put(b, (const char *)&s[i], 1);
		}
	}
	puts_(b, "\"");
}

static void fail(int code, const char *msg, const char *details)
{
	struct buf b = {0};
	puts_(&b, "{\"cniVersion\":\"1.0.0\",\"code\":");
	char num[16];
	snprintf(num, sizeof num, "%d", code);
	puts_(&b, num);
	puts_(&b, ",\"msg\":");
	put_json_string(&b, msg, strlen(msg));
	puts_(&b, ",\"details\":");
	put_json_string(&b, details, strlen(details));
	puts_(&b, "}\n");
	fputs(b.data, stdout);
	exit(1);
}

/* The value of "agent-socket" in the configuration, if any (a plain string, no escapes). */
static char *config_socket(const char *config)
{
	const char *k = strstr(config, "\"agent-socket\"");
	if (!k)
		return NULL;
	const char *q = strchr(k + 14, '"');
	if (!q)
		return NULL;
	const char *end = strchr(q + 1, '"');
	if (!end || end - q - 1 >= (long)sizeof(((struct sockaddr_un *)0)->sun_path))
		return NULL;
	return strndup(q + 1, (size_t)(end - q - 1));
}

int main(void)
{
	const char *command = getenv("CNI_COMMAND");
	if (!command || !*command)
		fail(4, "CNI_COMMAND is not set", "porin-cni is a CNI plugin: a container runtime runs it");

	struct buf config = {0};
	char chunk[4096];
	size_t n;
	if (strcmp(command, "VERSION") != 0 || !isatty(0)) {
		while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
			put(&config, chunk, n);
	}
	if (!config.data)
		put(&config, "", 0);

	if (strcmp(command, "VERSION") == 0) {
		printf("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":" VERSIONS "}\n");
		return 0;
	}

	const char *path = getenv("PORIN_CNI_SOCKET");
	char *from_config = NULL;
	if (!path || !*path) {
		from_config = config_socket(config.data);
		path = from_config ? from_config : DEFAULT_SOCKET;
	}

	struct buf req = {0};
	puts_(&req, "{\"env\":{");
	int first = 1;
	for (int i = 0; ENV_KEYS[i]; i++) {
		const char *v = getenv(ENV_KEYS[i]);
		if (!v)
			continue;
		if (!first)
			puts_(&req, ",");
		first = 0;
		put_json_string(&req, ENV_KEYS[i], strlen(ENV_KEYS[i]));
		puts_(&req, ":");
		put_json_string(&req, v, strlen(v));
	}
	puts_(&req, "},\"config\":");
	put_json_string(&req, config.data, config.len);
	puts_(&req, "}");

	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof addr.sun_path)
		fail(7, "agent socket path is too long", path);
	strcpy(addr.sun_path, path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
		char details[512];
		snprintf(details, sizeof details, "connect %s: %s (is the porin agent running?)", path,
			 strerror(errno));
		fail(11, "porin agent unreachable", details);
	}
	for (size_t off = 0; off < req.len;) {
		/* MSG_NOSIGNAL: an agent that closed the socket is an error to report, not a SIGPIPE
		 * that would end the plugin without a word */
		ssize_t w = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
		if (w <= 0)
			fail(5, "writing to the porin agent failed", strerror(errno));
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR);

	struct buf resp = {0};
	ssize_t r;
	while ((r = read(fd, chunk, sizeof chunk)) > 0)
		put(&resp, chunk, (size_t)r);
	close(fd);
	if (!resp.data || !strchr(resp.data, '\n'))
		fail(5, "the porin agent closed the connection without an answer", path);
	char *nl = strchr(resp.data, '\n');
	*nl = 0;
	int code = atoi(resp.data);
	fputs(nl + 1, stdout);
	free(from_config);
	return code;
}
