/*
 * Peer for comparison: a chat hub in C on one epoll loop, one thread, non-blocking sockets.
 *
 * What it is: a floor for the cost of one delivery on this machine. It speaks the plain ws hub
 * peer's protocol (ws-hub-server.ts: join / publish / auth over WebSocket at /ws, POST
 * /api/publish and /api/push, GET /healthz) and does the least a server can do for it: the
 * message is framed once, then one write() per member. What remains is roughly the syscall.
 *
 * What it is not: a product. No TLS, no fragmented frames, no permessage-deflate, no UTF-8
 * check, no auth, no limits beyond a cap on what a slow reader may have queued; JSON is scanned,
 * not validated, and a room or user is keyed by its raw JSON string token (no unescaping). Rooms
 * are never freed. Written for the bench; built by it with `cc -O2` into a cache directory.
 *
 * Usage: c-epoll-server --port 8080 [--host 127.0.0.1]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 65536
#define READ_CHUNK 65536
#define MAX_FRAME (1 << 20)
#define MAX_QUEUED (16 << 20) /* a reader this far behind is closed */

/* ---- growable byte buffer ---- */

typedef struct {
  char *p;
  size_t len, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  b->p = realloc(b->p, cap);
  if (!b->p) abort();
  b->cap = cap;
}
static void buf_put(buf_t *b, const void *s, size_t n) {
  buf_reserve(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
}
static void buf_str(buf_t *b, const char *s) { buf_put(b, s, strlen(s)); }
static void buf_consume(buf_t *b, size_t n) {
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
}
static void buf_free(buf_t *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* ---- SHA-1 (FIPS 180-4) and base64, for Sec-WebSocket-Accept ---- */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const uint8_t *msg, size_t len, uint8_t out[20]) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  size_t total = ((len + 8) / 64 + 1) * 64;
  uint8_t *m = calloc(total, 1);
  if (!m) abort();
  memcpy(m, msg, len);
  m[len] = 0x80;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) m[total - 1 - i] = (uint8_t)(bits >> (8 * i));
  for (size_t off = 0; off < total; off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
      w[i] = (uint32_t)m[off + 4 * i] << 24 | (uint32_t)m[off + 4 * i + 1] << 16 |
             (uint32_t)m[off + 4 * i + 2] << 8 | m[off + 4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
      uint32_t f, k;
      if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
      else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
      else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
      else f = b ^ c ^ d, k = 0xCA62C1D6;
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d, d = c, c = rol(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  free(m);
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

static void base64(const uint8_t *in, size_t n, char *out) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
    out[o++] = t[v >> 18 & 63];
    out[o++] = t[v >> 12 & 63];
    out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? t[v & 63] : '=';
  }
  out[o] = 0;
}

/* ---- connections and groups (rooms, users) ---- */

typedef struct conn conn_t;

typedef struct {
  char *key; /* raw JSON string token, quotes included */
  size_t key_len;
  conn_t **members;
  int count, cap;
} group_t;

struct conn {
  int fd;
  int ws; /* 0 = HTTP, 1 = WebSocket */
  int dead;
  int want_out; /* EPOLLOUT registered */
  buf_t in, out;
  group_t **joined;
  int njoined, capjoined;
  group_t *user;
};

typedef struct {
  group_t **slots;
  size_t cap, count;
} table_t;

static conn_t *conns[MAX_FDS];
static table_t rooms, users;
static int epfd;
static conn_t *graveyard[MAX_FDS];
static int ngraveyard;

static uint64_t hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
  return h;
}

static group_t *table_get(table_t *t, const char *key, size_t n, int create) {
  if (create && (t->count + 1) * 2 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 1024;
    group_t **slots = calloc(cap, sizeof *slots);
    if (!slots) abort();
    for (size_t i = 0; i < t->cap; i++) {
      group_t *g = t->slots[i];
      if (!g) continue;
      size_t j = hash(g->key, g->key_len) & (cap - 1);
      while (slots[j]) j = (j + 1) & (cap - 1);
      slots[j] = g;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
  }
  if (!t->cap) return NULL;
  size_t j = hash(key, n) & (t->cap - 1);
  for (group_t *g; (g = t->slots[j]); j = (j + 1) & (t->cap - 1))
    if (g->key_len == n && memcmp(g->key, key, n) == 0) return g;
  if (!create) return NULL;
  group_t *g = calloc(1, sizeof *g);
  if (!g) abort();
  g->key = malloc(n);
  if (!g->key) abort();
  memcpy(g->key, key, n);
  g->key_len = n;
  t->slots[j] = g;
  t->count++;
  return g;
}

static void group_add(group_t *g, conn_t *c) {
  if (g->count == g->cap) {
    g->cap = g->cap ? g->cap * 2 : 8;
    g->members = realloc(g->members, g->cap * sizeof *g->members);
    if (!g->members) abort();
  }
  g->members[g->count++] = c;
}

static void group_remove(group_t *g, conn_t *c) {
  for (int i = 0; i < g->count; i++)
    if (g->members[i] == c) {
      g->members[i] = g->members[--g->count];
      return;
    }
}

static void set_out_interest(conn_t *c, int on) {
  if (c->want_out == on) return;
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.fd = c->fd};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = on;
}

/* Marks a connection for closing; it is freed after the current batch of events. */
static void kill_conn(conn_t *c) {
  if (c->dead) return;
  c->dead = 1;
  graveyard[ngraveyard++] = c;
}

static void free_conn(conn_t *c) {
  for (int i = 0; i < c->njoined; i++) group_remove(c->joined[i], c);
  if (c->user) group_remove(c->user, c);
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  conns[c->fd] = NULL;
  buf_free(&c->in);
  buf_free(&c->out);
  free(c->joined);
  free(c);
}

/* One write() of the whole buffer; what the kernel does not take waits for EPOLLOUT. */
static void send_bytes(conn_t *c, const char *p, size_t n) {
  if (c->dead) return;
  if (c->out.len == 0) {
    ssize_t w = write(c->fd, p, n);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) return kill_conn(c);
      w = 0;
    }
    if ((size_t)w == n) return;
    p += w, n -= (size_t)w;
  }
  if (c->out.len + n > MAX_QUEUED) return kill_conn(c);
  buf_put(&c->out, p, n);
  set_out_interest(c, 1);
}

static void flush_out(conn_t *c) {
  while (c->out.len > 0) {
    ssize_t w = write(c->fd, c->out.p, c->out.len);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return kill_conn(c);
    }
    buf_consume(&c->out, (size_t)w);
  }
  set_out_interest(c, 0);
}

/* Appends a server frame (never masked) with `opcode` and `n` payload bytes to `b`. */
static void frame_into(buf_t *b, int opcode, const char *payload, size_t n) {
  uint8_t h[10];
  size_t hl = 2;
  h[0] = (uint8_t)(0x80 | opcode);
  if (n < 126) h[1] = (uint8_t)n;
  else if (n < 65536) h[1] = 126, h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n, hl = 4;
  else {
    h[1] = 127, hl = 10;
    for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
  }
  buf_put(b, h, hl);
  buf_put(b, payload, n);
}

static void send_text(conn_t *c, const char *payload, size_t n) {
  buf_t f = {0};
  frame_into(&f, 1, payload, n);
  send_bytes(c, f.p, f.len);
  buf_free(&f);
}

/* ---- a JSON scanner: top-level keys of one object and the raw text of their values ---- */

typedef struct {
  const char *p;
  size_t n;
} span_t;

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* Returns the end of the JSON value starting at p, or NULL when it is not one. */
static const char *skip_value(const char *p, const char *end, int depth) {
  if (p >= end || depth > 64) return NULL;
  if (*p == '"') {
    for (p++; p < end; p++) {
      if (*p == '\\') p++;
      else if (*p == '"') return p + 1;
    }
    return NULL;
  }
  if (*p == '{' || *p == '[') {
    char close = *p == '{' ? '}' : ']';
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) return p + 1;
    while (p < end) {
      if (close == '}') {
        if (*p != '"' || !(p = skip_value(p, end, depth + 1))) return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        p = skip_ws(p + 1, end);
      }
      if (!(p = skip_value(p, end, depth + 1))) return NULL;
      p = skip_ws(p, end);
      if (p < end && *p == close) return p + 1;
      if (p >= end || *p != ',') return NULL;
      p = skip_ws(p + 1, end);
    }
    return NULL;
  }
  const char *s = p;
  while (p < end && (*p == '-' || *p == '+' || *p == '.' || (*p >= '0' && *p <= '9') ||
                     (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
    p++;
  return p > s ? p : NULL;
}

typedef struct {
  span_t type, room, data, user, user_id, event;
} fields_t;

/* Fills `f` from a JSON object; returns 0 when the text is not one. */
static int scan_object(const char *p, size_t n, fields_t *f) {
  const char *end = p + n;
  memset(f, 0, sizeof *f);
  p = skip_ws(p, end);
  if (p >= end || *p != '{') return 0;
  p = skip_ws(p + 1, end);
  if (p < end && *p == '}') return 1;
  while (p < end) {
    const char *k = p;
    if (*p != '"' || !(p = skip_value(p, end, 1))) return 0;
    size_t kn = (size_t)(p - k);
    p = skip_ws(p, end);
    if (p >= end || *p != ':') return 0;
    const char *v = skip_ws(p + 1, end);
    if (!(p = skip_value(v, end, 1))) return 0;
    span_t s = {v, (size_t)(p - v)};
#define KEY(name, field) \
  if (kn == sizeof(name) + 1 && memcmp(k + 1, name, kn - 2) == 0) f->field = s;
    KEY("type", type) KEY("room", room) KEY("data", data) KEY("user", user)
    KEY("userId", user_id) KEY("event", event)
#undef KEY
    p = skip_ws(p, end);
    if (p < end && *p == '}') return 1;
    if (p >= end || *p != ',') return 0;
    p = skip_ws(p + 1, end);
  }
  return 0;
}

static int is_string(span_t s) { return s.n >= 2 && s.p[0] == '"'; }
static int equals(span_t s, const char *lit) { return s.n == strlen(lit) && !memcmp(s.p, lit, s.n); }

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the hub ---- */

static buf_t scratch; /* the one frame of a broadcast, reused */

/* `{"type":kind,<name>:<value>,"data":<data>,"ts":<ms>}` framed once, written to every member. */
static int broadcast(group_t *g, const char *head, span_t label, span_t data) {
  if (!g || g->count == 0) return 0;
  char tail[48];
  int tn = snprintf(tail, sizeof tail, ",\"ts\":%lld}", now_ms());
  static buf_t body; /* reused: one broadcast at a time */
  body.len = 0;
  buf_str(&body, head);
  buf_put(&body, label.p, label.n);
  buf_str(&body, ",\"data\":");
  if (data.n) buf_put(&body, data.p, data.n);
  else buf_str(&body, "null");
  buf_put(&body, tail, (size_t)tn);
  scratch.len = 0;
  frame_into(&scratch, 1, body.p, body.len);
  int n = g->count;
  for (int i = 0; i < g->count; i++) send_bytes(g->members[i], scratch.p, scratch.len);
  return n;
}

static int publish(span_t room, span_t data) {
  return broadcast(table_get(&rooms, room.p, room.n, 0), "{\"type\":\"message\",\"room\":", room,
                   data);
}

static int push(span_t user, span_t event, span_t data) {
  span_t ev = event.n ? event : (span_t){"null", 4};
  return broadcast(table_get(&users, user.p, user.n, 0), "{\"type\":\"push\",\"event\":", ev, data);
}

static void on_ws_message(conn_t *c, const char *p, size_t n) {
  fields_t f;
  if (!scan_object(p, n, &f)) return;
  char reply[96];
  if (equals(f.type, "\"join\"") && is_string(f.room)) {
    group_t *g = table_get(&rooms, f.room.p, f.room.n, 1);
    for (int i = 0; i < c->njoined; i++)
      if (c->joined[i] == g) goto joined;
    group_add(g, c);
    if (c->njoined == c->capjoined) {
      c->capjoined = c->capjoined ? c->capjoined * 2 : 4;
      c->joined = realloc(c->joined, (size_t)c->capjoined * sizeof *c->joined);
      if (!c->joined) abort();
    }
    c->joined[c->njoined++] = g;
  joined:;
    buf_t b = {0};
    buf_str(&b, "{\"type\":\"joined\",\"room\":");
    buf_put(&b, f.room.p, f.room.n);
    int k = snprintf(reply, sizeof reply, ",\"online\":%d}", g->count);
    buf_put(&b, reply, (size_t)k);
    send_text(c, b.p, b.len);
    buf_free(&b);
  } else if (equals(f.type, "\"publish\"") && is_string(f.room)) {
    publish(f.room, f.data);
  } else if (equals(f.type, "\"auth\"") && is_string(f.user)) {
    if (c->user) group_remove(c->user, c);
    c->user = table_get(&users, f.user.p, f.user.n, 1);
    group_add(c->user, c);
    buf_t b = {0};
    buf_str(&b, "{\"type\":\"ok\",\"userId\":");
    buf_put(&b, f.user.p, f.user.n);
    buf_str(&b, "}");
    send_text(c, b.p, b.len);
    buf_free(&b);
  }
}

/* Parses and handles every complete frame in c->in. */
static void on_ws_data(conn_t *c) {
  size_t off = 0;
  while (!c->dead) {
    uint8_t *b = (uint8_t *)c->in.p + off;
    size_t avail = c->in.len - off;
    if (avail < 2) break;
    int fin = b[0] & 0x80, opcode = b[0] & 0x0f, masked = b[1] & 0x80;
    uint64_t len = b[1] & 0x7f;
    size_t hl = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (uint64_t)b[2] << 8 | b[3], hl = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | b[2 + i];
      hl = 10;
    }
    /* Clients must mask; fragments are not supported here (the bench never sends them). */
    if (!masked || !fin || len > MAX_FRAME) return kill_conn(c);
    if (avail < hl + 4 + len) break;
    uint8_t *mask = b + hl, *payload = b + hl + 4;
    for (uint64_t i = 0; i < len; i++) payload[i] ^= mask[i & 3];
    off += hl + 4 + len;
    if (opcode == 1 || opcode == 2) on_ws_message(c, (char *)payload, len);
    else if (opcode == 9) {
      buf_t f = {0};
      frame_into(&f, 10, (char *)payload, len);
      send_bytes(c, f.p, f.len);
      buf_free(&f);
    } else if (opcode == 8) {
      buf_t f = {0};
      frame_into(&f, 8, (char *)payload, len >= 2 ? 2 : 0);
      send_bytes(c, f.p, f.len);
      buf_free(&f);
      return kill_conn(c);
    } else if (opcode != 10) return kill_conn(c);
  }
  if (off) buf_consume(&c->in, off);
}

/* ---- HTTP: the upgrade, /healthz and the two API calls ---- */

static span_t header(const char *head, size_t n, const char *name) {
  size_t nl = strlen(name);
  const char *end = head + n;
  for (const char *p = head; p < end;) {
    const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    if (!eol) break;
    if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
      const char *v = p + nl + 1;
      while (v < eol && *v == ' ') v++;
      return (span_t){v, (size_t)(eol - v)};
    }
    p = eol + 2;
  }
  return (span_t){NULL, 0};
}

static void http_reply(conn_t *c, int status, const char *body) {
  char head[256];
  const char *reason = status == 200 ? "OK" : status == 400 ? "Bad Request" : "Not Found";
  int k = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                   "Connection: keep-alive\r\n\r\n",
                   status, reason, strlen(body));
  buf_t b = {0};
  buf_put(&b, head, (size_t)k);
  buf_str(&b, body);
  send_bytes(c, b.p, b.len);
  buf_free(&b);
}

static void on_api(conn_t *c, int is_publish, const char *body, size_t n) {
  fields_t f;
  int delivered;
  if (!scan_object(body, n, &f)) return http_reply(c, 400, "{\"error\":\"bad request\"}");
  if (is_publish && is_string(f.room)) delivered = publish(f.room, f.data);
  else if (!is_publish && is_string(f.user_id)) delivered = push(f.user_id, f.event, f.data);
  else return http_reply(c, 400, "{\"error\":\"bad request\"}");
  char out[48];
  snprintf(out, sizeof out, "{\"delivered\":%d}", delivered);
  http_reply(c, 200, out);
}

static void on_http_data(conn_t *c) {
  while (!c->dead && !c->ws) {
    char *end = memmem(c->in.p, c->in.len, "\r\n\r\n", 4);
    if (!end) {
      if (c->in.len > 16384) kill_conn(c);
      return;
    }
    size_t head_len = (size_t)(end - c->in.p) + 4;
    span_t cl = header(c->in.p, head_len, "Content-Length");
    size_t body_len = cl.p ? strtoul(cl.p, NULL, 10) : 0;
    if (body_len > MAX_FRAME) return kill_conn(c);
    if (c->in.len < head_len + body_len) return;
    const char *req = c->in.p, *body = c->in.p + head_len;
    if (!strncmp(req, "GET /ws ", 8) || !strncmp(req, "GET /ws?", 8)) {
      span_t key = header(req, head_len, "Sec-WebSocket-Key");
      if (!key.p || key.n > 64) return kill_conn(c);
      char joined[128];
      memcpy(joined, key.p, key.n);
      memcpy(joined + key.n, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
      uint8_t digest[20];
      char accept[32], resp[256];
      sha1((uint8_t *)joined, key.n + 36, digest);
      base64(digest, 20, accept);
      int k = snprintf(resp, sizeof resp,
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                       accept);
      buf_consume(&c->in, head_len);
      c->ws = 1;
      send_bytes(c, resp, (size_t)k);
      return on_ws_data(c);
    }
    if (!strncmp(req, "GET /healthz ", 13)) http_reply(c, 200, "{\"ok\":true}");
    else if (!strncmp(req, "POST /api/publish ", 18)) on_api(c, 1, body, body_len);
    else if (!strncmp(req, "POST /api/push ", 15)) on_api(c, 0, body, body_len);
    else http_reply(c, 404, "{\"error\":\"not found\"}");
    buf_consume(&c->in, head_len + body_len);
  }
}

static void on_readable(conn_t *c) {
  buf_reserve(&c->in, READ_CHUNK);
  ssize_t r = read(c->fd, c->in.p + c->in.len, READ_CHUNK);
  if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
    return kill_conn(c);
  if (r < 0) return;
  c->in.len += (size_t)r;
  if (c->ws) on_ws_data(c);
  else on_http_data(c);
}

static void on_accept(int lfd) {
  for (int i = 0; i < 1024; i++) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (fd >= MAX_FDS) {
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn_t *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->fd = fd;
    conns[fd] = c;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  }
}

static void on_term(int sig) {
  (void)sig;
  _exit(0);
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 8080;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--host")) host = argv[i + 1];
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1 ||
      bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
    perror("listen");
    return 1;
  }
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
  printf("listening %d\n", port);
  fflush(stdout);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epfd, events, 256, -1);
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        on_accept(lfd);
        continue;
      }
      conn_t *c = conns[fd];
      if (!c || c->dead) continue;
      if (events[i].events & EPOLLOUT) flush_out(c);
      if (!c->dead && events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
    }
    for (int i = 0; i < ngraveyard; i++) free_conn(graveyard[i]);
    ngraveyard = 0;
  }
}
