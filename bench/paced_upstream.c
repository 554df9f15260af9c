/*
 * A fake OpenAI upstream that paces its streams: the upstream of `bench/chat --slow-streams`.
 *
 * `POST /v1/chat/completions` with `"stream": true` in the body is answered the way OpenAI
 * answers it: `Transfer-Encoding: chunked` Server-Sent Events, a role chunk at once, then one
 * content chunk every --interval-ms until --chunks of them are out, and with the last one the
 * finish chunk, the usage chunk (`"choices":[]`, sent when the body asks for
 * `stream_options.include_usage`, as the gateway always does) and `data: [DONE]`. Any other
 * chat request gets a fixed `chat.completion`. `GET /healthz` answers {"status":"ok"} (bench/chat
 * waits for it) and `GET /stats` the stream counters as JSON.
 *
 * Why C: 10,000 streams at one chunk per 100 ms are 100,000 writes a second, which the Python
 * mock cannot make on the two cores the gateway under test also needs. Here one thread with epoll
 * and one timerfd does it: every stream sits in a timer wheel slot, a tick (a twentieth of the
 * interval) walks one slot, so the cost is one write per chunk and nothing per waiting stream.
 * Should this process fall behind all the same (a machine short of CPU), a stream's overdue
 * chunks go out together in one write rather than one write each; /stats counts those.
 *
 *   paced_upstream --port N [--host 127.0.0.1] [--interval-ms 100] [--chunks 300]
 *                  [--max-conns 30000] [--quiet]
 *
 * --port 0 lets the kernel choose; the bound address is printed on stdout either way
 * ("listening on 127.0.0.1:PORT"). SIGTERM or SIGINT closes everything and exits 0, printing the
 * counters on stderr. C stdlib and Linux only: gcc -O2 -Wall -Wextra -o paced_upstream paced_upstream.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD 65536          /* a request head bigger than this gets 431 */
#define MAX_BODY (1 << 20)      /* a request body bigger than this gets 413 */
#define MAX_OUT (1 << 20)       /* unsent bytes of a client that stopped reading: it is dropped */
#define MAX_BATCH 64            /* content chunks sent in one write by a stream that fell behind */
#define FRAME_CAP 32768         /* one emission: MAX_BATCH chunks (~300 bytes each) + finish + usage + [DONE] */

enum state { C_FREE, C_READ, C_STREAM };

struct conn {
    unsigned char state;
    unsigned char want_out;     /* EPOLLOUT is registered: bytes are waiting in out */
    unsigned char close_after;  /* Connection: close / HTTP/1.0: close once the answer is out */
    unsigned char usage;        /* the stream asked for include_usage */
    char *in;                   /* request bytes not yet handled */
    size_t in_len, in_cap;
    char *out;                  /* answer bytes the socket did not take yet */
    size_t out_off, out_len, out_cap;
    int sent;                   /* content chunks sent so far */
    int prev, next;             /* neighbours in the timer wheel slot (fds), -1 for none */
    uint64_t due;               /* tick of the next content chunk */
    uint64_t id;                /* stream number, for the chatcmpl id */
    long created;
    char model[64];
};

static struct conn *conns;      /* indexed by fd */
static int nconns;              /* size of conns: the open-files limit */
static int epfd, listen_fd, timer_fd;
static int interval_ms = 100, chunks = 300, quiet;
static uint64_t tick_ms, interval_ticks, last_tick, nslots;
static int *slots;              /* head fd of each wheel slot, -1 for empty */
static struct timespec t_start;
static volatile sig_atomic_t stop;
static int accept_paused;

static struct {
    uint64_t connections, open, max_open, requests, streams_started, streams_completed,
        streams_cancelled, streams_active, accept_errors, dropped_slow_readers;
    uint64_t max_lag_ms;        /* the latest a tick was served: this server's own delay to chunks */
    uint64_t chunks_sent, late_batches;
    uint64_t max_streams_active;  /* the real concurrency the gateway reached upstream */
} stats;

static char frame[FRAME_CAP];   /* the bytes of one emission are built here */
static size_t frame_len;

static void on_signal(int sig) { (void)sig; stop = 1; }

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)(t.tv_sec - t_start.tv_sec) * 1000 + (uint64_t)(t.tv_nsec / 1000000) - (uint64_t)(t_start.tv_nsec / 1000000);
}

static void logmsg(const char *fmt, ...)
{
    va_list ap;
    if (quiet)
        return;
    va_start(ap, fmt);
    fputs("paced_upstream: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- byte buffers ------------------------------------------------------------------------- */

/* Appends n bytes to *buf (growing it, never past limit); -1 when that would exceed limit. */
static int buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n, size_t limit)
{
    if (*len + n > limit)
        return -1;
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c < *len + n)
            c *= 2;
        if (c > limit)
            c = limit;
        char *p = realloc(*buf, c);
        if (!p)
            return -1;
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    return 0;
}

/* Appends printf output to frame; a frame that would overflow is a bug in FRAME_CAP. */
static void frame_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(frame + frame_len, FRAME_CAP - frame_len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= FRAME_CAP - frame_len) {
        fprintf(stderr, "paced_upstream: frame overflow\n");
        abort();
    }
    frame_len += (size_t)n;
}

/* ---- the timer wheel ---------------------------------------------------------------------- */

static void wheel_insert(int fd, uint64_t due)
{
    struct conn *c = &conns[fd];
    uint64_t s = due % nslots;
    c->due = due;
    c->prev = -1;
    c->next = slots[s];
    if (slots[s] >= 0)
        conns[slots[s]].prev = fd;
    slots[s] = fd;
}

static void wheel_remove(int fd)
{
    struct conn *c = &conns[fd];
    if (c->prev >= 0)
        conns[c->prev].next = c->next;
    else
        slots[c->due % nslots] = c->next;
    if (c->next >= 0)
        conns[c->next].prev = c->prev;
    c->prev = c->next = -1;
}

/* ---- connections -------------------------------------------------------------------------- */

static void conn_close(int fd)
{
    struct conn *c = &conns[fd];
    if (c->state == C_STREAM) {
        wheel_remove(fd);
        stats.streams_cancelled++;
        stats.streams_active--;
    }
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->prev = c->next = -1;
    close(fd);  /* also removes it from epoll */
    stats.open--;
}

static void set_out_interest(int fd, int want)
{
    struct conn *c = &conns[fd];
    if (c->want_out == want)
        return;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0), .data.fd = fd };
    epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    c->want_out = (unsigned char)want;
}

/* Writes what the socket takes and keeps the rest in c->out, in order. Returns -1 when the
 * connection had to be closed (peer gone, or it stopped reading and MAX_OUT filled up). */
static int conn_send(int fd, const char *data, size_t n)
{
    struct conn *c = &conns[fd];
    if (c->out_len == c->out_off) {
        c->out_len = c->out_off = 0;
        while (n > 0) {
            ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
            if (w > 0) {
                data += w;
                n -= (size_t)w;
            } else if (w < 0 && errno == EINTR) {
                continue;
            } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break;
            } else {
                conn_close(fd);
                return -1;
            }
        }
        if (n == 0)
            return 0;
    }
    if (c->out_off > 0) {  /* keep the unsent bytes at the front: MAX_OUT bounds only them */
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (buf_append(&c->out, &c->out_len, &c->out_cap, data, n, MAX_OUT) < 0) {
        stats.dropped_slow_readers++;
        conn_close(fd);
        return -1;
    }
    set_out_interest(fd, 1);
    return 0;
}

/* Flushes c->out on EPOLLOUT. Returns -1 when the connection was closed. */
static int conn_flush(int fd)
{
    struct conn *c = &conns[fd];
    while (c->out_off < c->out_len) {
        ssize_t w = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w > 0)
            c->out_off += (size_t)w;
        else if (w < 0 && errno == EINTR)
            continue;
        else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        else {
            conn_close(fd);
            return -1;
        }
    }
    c->out_off = c->out_len = 0;
    set_out_interest(fd, 0);
    if (c->close_after && c->state != C_STREAM) {
        conn_close(fd);
        return -1;
    }
    return 0;
}

/* ---- OpenAI's answers --------------------------------------------------------------------- */

static const char *const words[] = { " Hello", " there,", " this", " is", " a", " paced", " stream", "." };

/* Adds one SSE event `data: <json>\n\n` as one HTTP chunk; the json is head + choices + tail. */
static void frame_event(struct conn *c, const char *choices, int with_usage_null)
{
    char json[2048];
    int n = snprintf(json, sizeof json,
                     "data: {\"id\":\"chatcmpl-Paced%024" PRIu64 "\",\"object\":\"chat.completion.chunk\","
                     "\"created\":%ld,\"model\":\"%s\",\"service_tier\":\"default\","
                     "\"system_fingerprint\":\"fp_560af6e559\",\"choices\":%s%s}\n\n",
                     c->id, c->created, c->model, choices, with_usage_null ? ",\"usage\":null" : "");
    if (n < 0 || (size_t)n >= sizeof json)
        abort();  /* the model name is bounded, so this cannot happen */
    frame_printf("%x\r\n%s\r\n", (unsigned)n, json);
}

static void frame_usage(struct conn *c)
{
    char json[2048];
    int n = snprintf(json, sizeof json,
                     "data: {\"id\":\"chatcmpl-Paced%024" PRIu64 "\",\"object\":\"chat.completion.chunk\","
                     "\"created\":%ld,\"model\":\"%s\",\"service_tier\":\"default\","
                     "\"system_fingerprint\":\"fp_560af6e559\",\"choices\":[],\"usage\":{\"prompt_tokens\":8,"
                     "\"completion_tokens\":%d,\"total_tokens\":%d,\"prompt_tokens_details\":{\"cached_tokens\":0,"
                     "\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
                     "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}\n\n",
                     c->id, c->created, c->model, chunks, chunks + 8);
    if (n < 0 || (size_t)n >= sizeof json)
        abort();
    frame_printf("%x\r\n%s\r\n", (unsigned)n, json);
}

static void frame_content(struct conn *c)
{
    char choices[256];
    snprintf(choices, sizeof choices,
             "[{\"index\":0,\"delta\":{\"content\":\"%s\"},\"logprobs\":null,\"finish_reason\":null}]",
             words[(c->sent - 1) % (int)(sizeof words / sizeof words[0])]);
    frame_event(c, choices, c->usage);
}

/* The head and the role chunk go out at once; the content chunks follow on the wheel. */
static int start_stream(int fd)
{
    struct conn *c = &conns[fd];
    frame_len = 0;
    frame_printf("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                 "cache-control: no-cache\r\nopenai-version: 2020-10-01\r\nopenai-processing-ms: 1\r\n"
                 "x-request-id: req_paced%023" PRIu64 "\r\ntransfer-encoding: chunked\r\n%s\r\n",
                 c->id, c->close_after ? "connection: close\r\n" : "");
    frame_event(c, "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
                   "\"logprobs\":null,\"finish_reason\":null}]", c->usage);
    c->state = C_STREAM;
    c->sent = 0;
    stats.streams_started++;
    if (++stats.streams_active > stats.max_streams_active)
        stats.max_streams_active = stats.streams_active;
    /* From now, not from the last tick served: a stream that starts while this process is behind
     * still gets its first content chunk one interval later, not a burst of "overdue" ones. */
    wheel_insert(fd, now_ms() / tick_ms + interval_ticks);
    return conn_send(fd, frame, frame_len);
}

static int process_input(int fd);

/* A stream's turn: its next content chunk, and after the last one the end of the stream. When
 * this process fell behind (the machine is short of CPU), every chunk already due goes out in one
 * write, up to MAX_BATCH: they are late either way, and one write per chunk would only make this
 * server take more of the CPU the gateway needs, and fall further behind. */
static void stream_tick(int fd, uint64_t now)
{
    struct conn *c = &conns[fd];
    uint64_t due = 1 + (now - c->due) / interval_ticks;
    int n = due > MAX_BATCH ? MAX_BATCH : (int)due;
    if (n > chunks - c->sent)
        n = chunks - c->sent;
    wheel_remove(fd);
    frame_len = 0;
    for (int i = 0; i < n; i++) {
        c->sent++;
        frame_content(c);
    }
    stats.chunks_sent += (uint64_t)n;
    if (n > 1)
        stats.late_batches++;
    if (c->sent < chunks) {
        wheel_insert(fd, c->due + (uint64_t)n * interval_ticks);
        conn_send(fd, frame, frame_len);
        return;
    }
    frame_event(c, "[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]", c->usage);
    if (c->usage)
        frame_usage(c);
    frame_printf("e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n");
    c->state = C_READ;
    stats.streams_active--;
    stats.streams_completed++;
    if (conn_send(fd, frame, frame_len) < 0)
        return;
    if (c->close_after) {
        if (c->out_len == c->out_off)
            conn_close(fd);
        return;
    }
    process_input(fd);  /* a request the client sent behind this one */
}

static int send_simple(int fd, int status, const char *reason, const char *type, const char *body)
{
    struct conn *c = &conns[fd];
    frame_len = 0;
    frame_printf("HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %zu\r\n%s\r\n%s", status, reason, type,
                 strlen(body), c->close_after ? "connection: close\r\n" : "", body);
    if (conn_send(fd, frame, frame_len) < 0)
        return -1;
    if (c->close_after && c->out_len == c->out_off) {
        conn_close(fd);
        return -1;
    }
    return 0;
}

static int send_completion(int fd)
{
    struct conn *c = &conns[fd];
    char body[2048];
    snprintf(body, sizeof body,
             "{\"id\":\"chatcmpl-Paced%024" PRIu64 "\",\"object\":\"chat.completion\",\"created\":%ld,"
             "\"model\":\"%s\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
             "\"content\":\"Hello! How can I assist you today?\",\"refusal\":null,\"annotations\":[]},"
             "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":8,"
             "\"completion_tokens\":9,\"total_tokens\":17,\"prompt_tokens_details\":{\"cached_tokens\":0,"
             "\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
             "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}},\"service_tier\":\"default\","
             "\"system_fingerprint\":\"fp_560af6e559\"}",
             c->id, c->created, c->model);
    return send_simple(fd, 200, "OK", "application/json", body);
}

static int send_stats(int fd)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"connections\":%" PRIu64 ",\"open_connections\":%" PRIu64 ",\"max_open_connections\":%" PRIu64
             ",\"requests\":%" PRIu64 ",\"streams_started\":%" PRIu64 ",\"streams_completed\":%" PRIu64
             ",\"streams_cancelled_by_client\":%" PRIu64 ",\"streams_active\":%" PRIu64 ",\"max_streams_active\":%" PRIu64
             ",\"accept_errors\":%" PRIu64 ",\"dropped_slow_readers\":%" PRIu64 ",\"max_tick_lag_ms\":%" PRIu64
             ",\"content_chunks_sent\":%" PRIu64 ",\"late_batches\":%" PRIu64 ",\"interval_ms\":%d,\"chunks\":%d,\"open_files_limit\":%d}",
             stats.connections, stats.open, stats.max_open, stats.requests, stats.streams_started,
             stats.streams_completed, stats.streams_cancelled, stats.streams_active, stats.max_streams_active,
             stats.accept_errors,
             stats.dropped_slow_readers, stats.max_lag_ms, stats.chunks_sent, stats.late_batches, interval_ms, chunks, nconns);
    return send_simple(fd, 200, "OK", "application/json", body);
}

/* ---- requests ----------------------------------------------------------------------------- */

/* The value of header `name` in head (lines after the request line), copied into out. */
static int header_value(const char *head, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = memchr(head, '\n', len), *end = head + len;
    while (p && p + 1 < end) {
        const char *line = p + 1;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            size_t n = (size_t)(eol - v);
            while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
            if (n >= cap)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 1;
        }
        p = eol < end ? eol : NULL;
    }
    return 0;
}

/* Where "key" is followed by `: true` in a JSON body (whitespace allowed): a plain scan is enough
 * for the requests the gateway sends, and this server does not validate bodies. */
static int json_true(const char *body, size_t len, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = body; (p = memmem(p, len - (size_t)(p - body), key, kl)) != NULL; p += kl) {
        const char *q = p + kl, *end = body + len;
        while (q < end && isspace((unsigned char)*q))
            q++;
        if (q >= end || *q != ':')
            continue;
        q++;
        while (q < end && isspace((unsigned char)*q))
            q++;
        if ((size_t)(end - q) >= 4 && memcmp(q, "true", 4) == 0)
            return 1;
    }
    return 0;
}

/* The request's "model" string when it is a plain name, else gpt-4o-mini (it is echoed into
 * JSON unescaped, so only name characters are taken). */
static void json_model(const char *body, size_t len, char *out, size_t cap)
{
    snprintf(out, cap, "gpt-4o-mini");
    const char *p = memmem(body, len, "\"model\"", 7), *end = body + len;
    if (!p)
        return;
    p += 7;
    while (p < end && (isspace((unsigned char)*p) || *p == ':'))
        p++;
    if (p >= end || *p != '"')
        return;
    p++;
    size_t n = 0;
    while (p + n < end && p[n] != '"' && (isalnum((unsigned char)p[n]) || strchr("-._:/", p[n])))
        n++;
    if (p + n >= end || p[n] != '"' || n == 0 || n >= cap)
        return;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Handles every whole request in c->in. Returns -1 when the connection was closed. */
static int process_input(int fd)
{
    struct conn *c = &conns[fd];
    while (c->state == C_READ && c->in_len > 0) {
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end) {
            if (c->in_len >= MAX_HEAD) {
                c->close_after = 1;
                return send_simple(fd, 431, "Request Header Fields Too Large", "application/json",
                                   "{\"error\":{\"message\":\"request head too large\"}}");
            }
            return 0;
        }
        size_t head_len = (size_t)(end - c->in) + 4;
        char value[128];
        size_t body_len = 0;
        if (header_value(c->in, head_len, "content-length", value, sizeof value))
            body_len = strtoul(value, NULL, 10);
        if (header_value(c->in, head_len, "transfer-encoding", value, sizeof value)) {
            /* The gateway sends Content-Length; a chunked request body is not worth parsing here. */
            c->close_after = 1;
            return send_simple(fd, 501, "Not Implemented", "application/json",
                               "{\"error\":{\"message\":\"chunked request bodies are not supported\"}}");
        }
        if (body_len > MAX_BODY) {
            c->close_after = 1;
            return send_simple(fd, 413, "Payload Too Large", "application/json",
                               "{\"error\":{\"message\":\"request body too large\"}}");
        }
        if (c->in_len < head_len + body_len) {
            /* Older curl waits for this before it sends a body; it is harmless otherwise. */
            if (header_value(c->in, head_len, "expect", value, sizeof value) && strcasecmp(value, "100-continue") == 0
                && c->in_len == head_len) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                if (conn_send(fd, cont, sizeof cont - 1) < 0)
                    return -1;
            }
            return 0;
        }
        stats.requests++;
        const char *body = c->in + head_len;
        int http10 = memmem(c->in, head_len < 64 ? head_len : 64, "HTTP/1.0", 8) != NULL;
        if (header_value(c->in, head_len, "connection", value, sizeof value))
            c->close_after = strcasecmp(value, "close") == 0 || (http10 && strcasecmp(value, "keep-alive") != 0);
        else
            c->close_after = (unsigned char)http10;
        int rc;
        if (strncmp(c->in, "POST /v1/chat/completions ", 26) == 0) {
            c->id = stats.requests;
            c->created = (long)time(NULL);
            json_model(body, body_len, c->model, sizeof c->model);
            if (json_true(body, body_len, "\"stream\"")) {
                c->usage = (unsigned char)json_true(body, body_len, "\"include_usage\"");
                rc = start_stream(fd);
            } else {
                rc = send_completion(fd);
            }
        } else if (strncmp(c->in, "GET /healthz ", 13) == 0) {
            rc = send_simple(fd, 200, "OK", "application/json", "{\"status\":\"ok\"}");
        } else if (strncmp(c->in, "GET /stats ", 11) == 0) {
            rc = send_stats(fd);
        } else {
            rc = send_simple(fd, 404, "Not Found", "application/json",
                             "{\"error\":{\"message\":\"Unknown request URL (paced_upstream serves POST "
                             "/v1/chat/completions)\",\"type\":\"invalid_request_error\",\"param\":null,"
                             "\"code\":\"unknown_url\"}}");
        }
        if (rc < 0)
            return -1;
        memmove(c->in, c->in + head_len + body_len, c->in_len - head_len - body_len);
        c->in_len -= head_len + body_len;
        if (c->close_after)
            break;  /* nothing after a Connection: close request is answered */
    }
    return 0;
}

/* Reads what the socket has. A closed peer ends the connection (a stream it was reading counts as
 * cancelled); bytes that arrive during a stream wait in c->in for its end. */
static void conn_readable(int fd)
{
    struct conn *c = &conns[fd];
    char buf[16384];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r > 0) {
            if (buf_append(&c->in, &c->in_len, &c->in_cap, buf, (size_t)r, MAX_HEAD + MAX_BODY) < 0) {
                conn_close(fd);
                return;
            }
            if ((size_t)r < sizeof buf)
                break;
        } else if (r == 0) {
            conn_close(fd);
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else {
            conn_close(fd);
            return;
        }
    }
    process_input(fd);
}

static void accept_all(void)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: stop accepting until the next tick instead of spinning. */
                stats.accept_errors++;
                logmsg("accept: %s (%" PRIu64 " open)", strerror(errno), stats.open);
                struct epoll_event ev = { .events = 0, .data.fd = listen_fd };
                epoll_ctl(epfd, EPOLL_CTL_MOD, listen_fd, &ev);
                accept_paused = 1;
            }
            return;
        }
        if (fd >= nconns) {  /* cannot happen below RLIMIT_NOFILE, but never index past the table */
            close(fd);
            stats.accept_errors++;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = &conns[fd];
        memset(c, 0, sizeof *c);
        c->prev = c->next = -1;
        c->state = C_READ;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = fd };
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            c->state = C_FREE;
            continue;
        }
        stats.connections++;
        if (++stats.open > stats.max_open)
            stats.max_open = stats.open;
    }
}

/* Walks every wheel slot whose tick has come, sending each due stream its chunk. */
static void run_ticks(void)
{
    uint64_t now = now_ms() / tick_ms;
    if (now > last_tick && (now - last_tick - 1) * tick_ms > stats.max_lag_ms)
        stats.max_lag_ms = (now - last_tick - 1) * tick_ms;
    while (last_tick < now) {
        uint64_t t = ++last_tick;
        int fd = slots[t % nslots];
        while (fd >= 0) {
            int next = conns[fd].next;  /* read first: stream_tick moves or closes fd */
            if (conns[fd].due <= t)
                stream_tick(fd, now);
            fd = next;
        }
    }
    if (accept_paused) {
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = listen_fd };
        epoll_ctl(epfd, EPOLL_CTL_MOD, listen_fd, &ev);
        accept_paused = 0;
    }
}

/* Sets RLIMIT_NOFILE to want (raising the hard limit too when we may, else up to it), so that
 * every descriptor fits the conns table, which has that many entries. */
static int set_nofile(int want)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    struct rlimit up = { (rlim_t)want, rl.rlim_max > (rlim_t)want ? rl.rlim_max : (rlim_t)want };
    if (setrlimit(RLIMIT_NOFILE, &up) < 0) {
        up.rlim_cur = up.rlim_max = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &up);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    return (int)rl.rlim_cur;
}

static void usage_exit(void)
{
    fprintf(stderr, "usage: paced_upstream --port N [--host 127.0.0.1] [--interval-ms 100] [--chunks 300] "
                    "[--max-conns 30000] [--quiet]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = -1, max_conns = 30000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quiet") == 0) { quiet = 1; continue; }
        if (!v)
            usage_exit();
        if (strcmp(a, "--host") == 0) host = v;
        else if (strcmp(a, "--port") == 0) port = atoi(v);
        else if (strcmp(a, "--interval-ms") == 0) interval_ms = atoi(v);
        else if (strcmp(a, "--chunks") == 0) chunks = atoi(v);
        else if (strcmp(a, "--max-conns") == 0) max_conns = atoi(v);
        else usage_exit();
        i++;
    }
    if (port < 0 || port > 65535 || interval_ms < 1 || chunks < 1 || max_conns < 1)
        usage_exit();

    /* A tick of about a twentieth of the interval: fine enough that chunks keep their pace,
     * coarse enough that a tick finds many streams to serve at once. */
    tick_ms = (uint64_t)interval_ms / 20;
    if (tick_ms < 1) tick_ms = 1;
    if (tick_ms > 10) tick_ms = 10;
    interval_ticks = ((uint64_t)interval_ms + tick_ms / 2) / tick_ms;
    if (interval_ticks < 1) interval_ticks = 1;
    nslots = interval_ticks + 1;
    clock_gettime(CLOCK_MONOTONIC, &t_start);

    nconns = set_nofile(max_conns + 64);
    conns = calloc((size_t)nconns, sizeof *conns);
    slots = malloc(nslots * sizeof *slots);
    if (!conns || !slots) {
        fprintf(stderr, "paced_upstream: out of memory\n");
        return 1;
    }
    for (uint64_t s = 0; s < nslots; s++)
        slots[s] = -1;
    for (int i = 0; i < nconns; i++)
        conns[i].prev = conns[i].next = -1;

    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "paced_upstream: bad --host %s (an IPv4 address)\n", host);
        return 2;
    }
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listen_fd, 65535) < 0) {
        fprintf(stderr, "paced_upstream: cannot listen on %s:%d: %s\n", host, port, strerror(errno));
        return 1;
    }
    socklen_t alen = sizeof addr;
    getsockname(listen_fd, (struct sockaddr *)&addr, &alen);
    printf("listening on %s:%d\n", host, ntohs(addr.sin_port));
    fflush(stdout);
    logmsg("%d chunks every %d ms (tick %" PRIu64 " ms), open-files limit %d", chunks, interval_ms, tick_ms, nconns);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = { .it_interval = { 0, (long)tick_ms * 1000000 }, .it_value = { 0, (long)tick_ms * 1000000 } };
    if (epfd < 0 || timer_fd < 0 || timerfd_settime(timer_fd, 0, &its, NULL) < 0) {
        fprintf(stderr, "paced_upstream: epoll/timerfd: %s\n", strerror(errno));
        return 1;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = listen_fd };
    epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev);
    ev.data.fd = timer_fd;
    epoll_ctl(epfd, EPOLL_CTL_ADD, timer_fd, &ev);

    static struct epoll_event events[1024];
    while (!stop) {
        int n = epoll_wait(epfd, events, 1024, 1000);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "paced_upstream: epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            uint32_t e = events[i].events;
            if (fd == listen_fd) {
                accept_all();
            } else if (fd == timer_fd) {
                uint64_t expirations;
                while (read(timer_fd, &expirations, sizeof expirations) < 0 && errno == EINTR)
                    ;
                run_ticks();
            } else if (conns[fd].state != C_FREE) {
                /* An earlier event in this batch may have closed fd: state C_FREE then. */
                if ((e & EPOLLOUT) && conn_flush(fd) < 0)
                    continue;
                if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    conn_readable(fd);
            }
        }
    }

    fprintf(stderr, "paced_upstream: %" PRIu64 " connections, %" PRIu64 " requests, %" PRIu64 " streams started, %"
            PRIu64 " completed, %" PRIu64 " cancelled by the client, %" PRIu64 " open at exit, %" PRIu64
            " accept errors\n", stats.connections, stats.requests, stats.streams_started, stats.streams_completed,
            stats.streams_cancelled, stats.streams_active, stats.accept_errors);
    for (int fd = 0; fd < nconns; fd++)
        if (conns[fd].state != C_FREE)
            conn_close(fd);
    close(listen_fd);
    close(timer_fd);
    close(epfd);
    free(conns);
    free(slots);
    return 0;
}
