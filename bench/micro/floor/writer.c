// The write floor (docs/performance.md, "The unmerged path"): what one write(2) of a small frame
// to each of N loopback TCP sockets costs the writing process, with nothing else around it.
// Usage: writer PORT N ROUNDS RATE SIZE [send]
// Accepts N connections on 127.0.0.1:PORT (bench/micro/floor/reader.c opens them), then ROUNDS
// times, RATE rounds per second, writes one SIZE-byte WebSocket text frame to every connection,
// one write(2) (or send(2)) each, and prints its CPU (getrusage: user and system) per write.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double tv(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }
int main(int argc, char **argv) {
  int port = atoi(argv[1]), n = atoi(argv[2]), rounds = atoi(argv[3]), rate = atoi(argv[4]), size = atoi(argv[5]);
  int use_send = argc > 6 && strcmp(argv[6], "send") == 0;
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(0x7f000001);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4096)) { perror("listen"); return 1; }
  int *fds = malloc(n * sizeof(int));
  for (int i = 0; i < n; i++) {
    fds[i] = accept(ls, 0, 0);
    setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fds[i], F_SETFL, O_NONBLOCK);
  }
  char *frame = malloc(size); memset(frame, 'x', size); frame[0] = 0x81; frame[1] = size - 2 < 126 ? size - 2 : 126;
  struct rusage r0, r1; getrusage(RUSAGE_SELF, &r0);
  double t0 = now(); long writes = 0, shorts = 0;
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < n; i++) {
      ssize_t w = use_send ? send(fds[i], frame, size, 0) : write(fds[i], frame, size);
      if (w != size) shorts++;
      writes++;
    }
    double next = t0 + (r + 1.0) / rate, d = next - now();
    if (d > 0) usleep((useconds_t)(d * 1e6));
  }
  getrusage(RUSAGE_SELF, &r1);
  double u = tv(r1.ru_utime) - tv(r0.ru_utime), s = tv(r1.ru_stime) - tv(r0.ru_stime);
  printf("floor(%s): %ld writes, %ld short, user %.3f s sys %.3f s: %.2f us/write (user %.2f), %.0f writes per CPU-s\n",
         use_send ? "send" : "write", writes, shorts, u, s, (u + s) * 1e6 / writes, u * 1e6 / writes, writes / (u + s));
  for (int i = 0; i < n; i++) close(fds[i]);
  return 0;
}
