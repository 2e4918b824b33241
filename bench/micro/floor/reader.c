#define _GNU_SOURCE
// Loopback readers for the write-floor measurement (docs/performance.md, "The unmerged path").
// Usage: reader PORT N [ws [ROOM]]
// Connects N sockets to 127.0.0.1:PORT one after the other, then reads and discards everything
// until the server closes them all (or 60 s pass with nothing to read). With `ws`, each sends a
// WebSocket upgrade request first (the answer is read and discarded like the rest); with a ROOM,
// also a Barrage `join` of ROOM, and it answers `{"type":"ping"}` with a pong. One thread, epoll.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>
int main(int argc, char **argv) {
  int port = atoi(argv[1]), n = atoi(argv[2]);
  int ep = epoll_create1(0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(0x7f000001);
  for (int i = 0; i < n; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 1; }
    static const char up[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (argc > 3) write(fd, up, sizeof up - 1);
    if (argc > 4) { // a masked text frame joining room argv[4] (mask 0: the payload as is)
      char j[256], f[300]; int len = snprintf(j, sizeof j, "{\"type\":\"join\",\"id\":1,\"room\":\"%s\"}", argv[4]);
      f[0] = 0x81; f[1] = 0x80 | len; memset(f + 2, 0, 4); memcpy(f + 6, j, len);
      write(fd, f, 6 + len);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  fprintf(stderr, "reader: %d connected\n", n);
  int open = n; long long bytes = 0;
  static char buf[65536]; struct epoll_event evs[256];
  while (open > 0) {
    int k = epoll_wait(ep, evs, 256, 60000);
    if (k <= 0) break;
    for (int i = 0; i < k; i++) {
      ssize_t r = read(evs[i].data.fd, buf, sizeof buf);
      if (r > 0 && memmem(buf, r, "\"type\":\"ping\"", 13)) {
        static const char pong[] = "{\"type\":\"pong\"}"; char f[64]; int len = sizeof pong - 1;
        f[0] = 0x81; f[1] = 0x80 | len; memset(f + 2, 0, 4); memcpy(f + 6, pong, len);
        write(evs[i].data.fd, f, 6 + len);
      }
      if (r > 0) { bytes += r; if (getenv("DUMP")) fwrite(buf, 1, r, stderr); }
      else if (r == 0 || (errno != EAGAIN)) { close(evs[i].data.fd); open--; }
    }
  }
  fprintf(stderr, "reader: %lld bytes\n", bytes);
  return 0;
}
