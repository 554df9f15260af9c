/*
 * Opens many concurrent streaming chat completions against the gateway and reads every one of
 * them to its end: the client side of `bench/chat --slow-streams`.
 *
 * Each stream is `POST /v1/chat/completions` with `"stream": true` on its own connection. The
 * streams are started evenly over --ramp seconds (at most --connect-concurrency connecting at
 * once, so the listen backlog is not the thing under test), then all of them are read at once:
 * with an upstream that sends one chunk every 100 ms for 30 s, N streams are open together for
 * most of the run. A stream is good when it answers 200, carries at least --expect-chunks
 * content events (every `data:` event but `[DONE]` and error events), has no in-band error event
 * and ends with `data: [DONE]` and the chunked terminator. Anything else is an error, counted by
 * kind: connect failures (connect_<errno text>, connect_timeout), non-200 answers (status_N),
 * streams closed before their headers or before `[DONE]`, error events, answers without [DONE]
 * (no_done), short streams, bad HTTP (bad_http), streams still open at --deadline seconds after
 * the start (timeout_still_receiving when bytes came in the last 10 s, else timeout_stalled).
 *
 * Why C: 10,000 streams at 10 events a second are 100,000 events a second; the Python asyncio
 * client this replaces spent about 43 µs of CPU per event (over 4 cores' worth at that rate),
 * on a machine whose two cores the gateway needs. One thread with epoll does it here for about
 * 4-6 µs per event, most of it the kernel's recv, so the client is not what limits.
 * It keeps little per stream: the bytes of a partial line and the first 200 bytes of the current
 * SSE event, never a whole body.
 *
 * The result is one JSON object on stdout (the keys bench/chat's report reads, as the Python
 * client it replaces printed them); a one-line summary goes to stderr. Exit status 0 when there
 * were no errors, 1 when there were, 2 when the run could not be made at all (too low an
 * open-files limit: one process holds every stream, so --count must stay below that limit).
 *
 *   slow_streams --port N [--host 127.0.0.1] [--key gw_test_abc123] [--model gpt-4o-mini]
 *                [--count 1000] [--ramp 10] [--expect-chunks 1] [--deadline 120]
 *                [--connect-concurrency 256] [--connect-timeout 10] [--poll-ms 2]
 *
 * --poll-ms: after a round of events the client sleeps this long before it polls again, so the
 * answers of many streams are read in one round instead of one wake-up each (a sender that has
 * to wake a process blocked in epoll_wait pays for that wake-up, and here the sender is the
 * gateway). Times (first byte, silences) are then measured to within that many milliseconds.
 * 0 polls without pausing.
 *
 * C stdlib and Linux only: gcc -O2 -Wall -Wextra -o slow_streams slow_streams.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
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
#include <time.h>
#include <unistd.h>

#define MAX_HEAD 65536      /* an answer head longer than this is bad_http */
#define LINE_CAP 128        /* chunk-size and trailer lines: longer size lines are bad_http */
#define EV_KEEP 200         /* bytes kept of each SSE event: enough to classify it and to quote it */
#define SAMPLE_CAP 201      /* error samples are cut at 200 bytes, as the Python client did */
#define MAX_KINDS 64

enum phase { P_WAIT, P_CONNECTING, P_HEAD, P_BODY, P_SIZE, P_DATA, P_CRLF, P_TRAILERS, P_DONE };

struct stream {
    int fd;                 /* -1 when no socket is open */
    unsigned char phase;
    unsigned char judged, done_event, error_event, cost_trailer, prev_nl, line_long, crlf_left;
    int status;
    int chunks;             /* content events so far */
    int slot;               /* index in the connecting list while connecting */
    size_t req_off;         /* request bytes already written */
    uint64_t remaining;     /* bytes left of the current chunk, or of a Content-Length body */
    double started, first, last, max_gap;
    char *head;             /* the answer head until it is whole, then freed */
    size_t head_len, head_cap;
    unsigned line_len, ev_len, ev_total;
    char line[LINE_CAP];
    char ev[EV_KEEP];
    char *error_text;       /* the first EV_KEEP bytes of the last error event */
};

struct kind {
    char name[64];
    long count;
    char sample[SAMPLE_CAP];
};

/* Options */
static const char *host = "127.0.0.1", *key = "gw_test_abc123", *model = "gpt-4o-mini";
static int port = -1, count = 1000, expect_chunks = 1, connect_concurrency = 256;
static double ramp = 10.0, deadline_s = 120.0, connect_timeout = 10.0;
static int poll_ms = 2;

static struct stream *streams;
static int epfd;
static char request[2048];
static size_t request_len;
static struct sockaddr_in target;

/* Tallies */
static struct kind kinds[MAX_KINDS];
static int nkinds;
static long opened, ok, errors, open_now, max_open, missing_trailer, finished;
static long answering, max_answering;  /* streams between their first byte and their end */
static int *ok_chunks, *timeout_chunks, n_ok, n_ttfb, n_timeout;
static double *ttfb, *durations, *gaps;
static long long_gaps[256]; /* silences over 1 s inside answers, by the 5 s window they ended in */
static double t0;
static double max_busy;     /* longest stretch between two polls: this client's own delay */
static long n_waits, n_recvs;   /* syscalls, to tell what this client's CPU time went to */
static int *connecting;     /* streams whose connect is in progress */
static int nconnecting;

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void record_error(const char *kind, const char *detail)
{
    int i;
    for (i = 0; i < nkinds; i++)
        if (strcmp(kinds[i].name, kind) == 0)
            break;
    if (i == nkinds) {
        if (nkinds == MAX_KINDS)
            i = MAX_KINDS - 1;  /* never expected: the kinds are few; lump the rest together */
        else
            snprintf(kinds[nkinds++].name, sizeof kinds[0].name, "%s", kind);
    }
    if (kinds[i].count++ == 0 && detail)
        snprintf(kinds[i].sample, sizeof kinds[i].sample, "%s", detail);
    errors++;
}

static void connecting_remove(struct stream *s)
{
    if (s->phase != P_CONNECTING)
        return;
    int last = connecting[--nconnecting];
    connecting[s->slot] = last;
    streams[last].slot = s->slot;
}

static void stream_close(struct stream *s)
{
    if (s->fd < 0)
        return;
    connecting_remove(s);
    if (s->phase != P_CONNECTING)
        open_now--;
    close(s->fd);
    s->fd = -1;
}

/* Judges a stream once: kind NULL is a good stream. Closes its socket. */
static void finish(struct stream *s, const char *kind, const char *detail)
{
    if (s->judged)
        return;
    s->judged = 1;
    double now = mono();
    if (s->first > 0)
        answering--;
    if (!kind) {
        ok++;
        gaps[n_ok] = s->max_gap;
        ok_chunks[n_ok] = s->chunks;
        durations[n_ok] = now - s->started;
        n_ok++;
        if (s->first > 0)
            ttfb[n_ttfb++] = s->first - s->started;
        if (!s->cost_trailer)
            missing_trailer++;
    } else {
        record_error(kind, detail);
    }
    stream_close(s);
    free(s->head);
    s->head = NULL;
    free(s->error_text);
    s->error_text = NULL;
    s->phase = P_DONE;
    finished++;
}

static void finishf(struct stream *s, const char *kind, const char *fmt, ...)
{
    char detail[SAMPLE_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    finish(s, kind, detail);
}

/* ---- the answer --------------------------------------------------------------------------- */

/* One whole SSE event: the first EV_KEEP bytes of it are in s->ev. */
static void event_end(struct stream *s)
{
    unsigned n = s->ev_len;
    if (s->ev_total <= EV_KEEP && n > 0)
        n--;  /* the first '\n' of the "\n\n" that ends it was kept too */
    if (n >= 12 && memcmp(s->ev, "data: [DONE]", 12) == 0) {
        s->done_event = 1;
    } else if (n >= 14 && memcmp(s->ev, "data: {\"error\"", 14) == 0) {
        if (!s->error_text)
            s->error_text = malloc(EV_KEEP + 1);
        if (s->error_text) {
            memcpy(s->error_text, s->ev, n);
            s->error_text[n] = '\0';
        }
        s->error_event = 1;
    } else if (n >= 6 && memcmp(s->ev, "data: ", 6) == 0) {
        s->chunks++;
    }
    s->ev_len = s->ev_total = 0;
}

/* Body bytes (chunk payloads): events end at a blank line, "\n\n". */
static void sse_feed(struct stream *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\n' && s->prev_nl) {
            event_end(s);
            s->prev_nl = 0;
            continue;
        }
        if (s->ev_len < EV_KEEP)
            s->ev[s->ev_len++] = c;
        s->ev_total++;
        s->prev_nl = c == '\n';
    }
}

/* The partial event, for the sample of a non-200 answer (its JSON error body). */
static void partial_event(struct stream *s, char *out, size_t cap)
{
    size_t n = s->ev_len < cap - 1 ? s->ev_len : cap - 1;
    memcpy(out, s->ev, n);
    out[n] = '\0';
}

static void complete(struct stream *s)
{
    char sample[SAMPLE_CAP];
    if (s->status != 200) {
        char kind[32];
        snprintf(kind, sizeof kind, "status_%d", s->status);
        partial_event(s, sample, sizeof sample);
        finish(s, kind, sample);
    } else if (s->error_event) {
        finish(s, "error_event", s->error_text ? s->error_text : "");
    } else if (!s->done_event) {
        finishf(s, "no_done", "stream ended without [DONE] after %d chunks", s->chunks);
    } else if (s->chunks < expect_chunks) {
        finishf(s, "short_stream", "%d chunks, expected at least %d", s->chunks, expect_chunks);
    } else {
        finish(s, NULL, NULL);
    }
}

/* Parses the head in s->head[0..len): status and framing. Returns -1 on a malformed head. */
static int parse_head(struct stream *s, size_t len)
{
    char *h = s->head;
    char *sp = memchr(h, ' ', len);
    if (!sp || (size_t)(sp - h) + 4 > len || !isdigit((unsigned char)sp[1]))
        return -1;
    s->status = atoi(sp + 1);
    int chunked = 0;
    uint64_t content_length = 0;
    char *p = memchr(h, '\n', len), *end = h + len;
    while (p && p + 1 < end) {
        char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon) {
            size_t nl = (size_t)(colon - line);
            char *v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            size_t vl = (size_t)(eol - v);
            if (nl == 17 && strncasecmp(line, "transfer-encoding", 17) == 0) {
                for (size_t i = 0; i + 7 <= vl; i++)
                    if (strncasecmp(v + i, "chunked", 7) == 0)
                        chunked = 1;
            } else if (nl == 14 && strncasecmp(line, "content-length", 14) == 0) {
                content_length = strtoull(v, NULL, 10);
            }
        }
        p = eol < end ? eol : NULL;
    }
    if (chunked) {
        s->phase = P_SIZE;
    } else {
        s->phase = P_BODY;
        s->remaining = content_length;
    }
    return 0;
}

/* Takes bytes into s->line up to '\n'. Returns the bytes used; *whole is set once the line
 * is complete (without its CRLF, cut at LINE_CAP - 1 bytes, s->line_long telling so). */
static size_t take_line(struct stream *s, const char *p, size_t n, int *whole)
{
    const char *nl = memchr(p, '\n', n);
    size_t used = nl ? (size_t)(nl - p) + 1 : n;
    size_t copy = nl ? used - 1 : used;
    if (s->line_len + copy >= LINE_CAP) {
        s->line_long = 1;
        copy = LINE_CAP - 1 - s->line_len;
    }
    memcpy(s->line + s->line_len, p, copy);
    s->line_len += (unsigned)copy;
    *whole = nl != NULL;
    if (*whole) {
        if (s->line_len > 0 && s->line[s->line_len - 1] == '\r')
            s->line_len--;
        s->line[s->line_len] = '\0';
    }
    return used;
}

/* Feeds answer bytes through the phases; may judge (and close) the stream. */
static void answer_feed(struct stream *s, const char *p, size_t n)
{
    while (n > 0 && !s->judged) {
        int whole;
        size_t used, take;
        switch (s->phase) {
        case P_HEAD: {
            size_t old = s->head_len;
            take = n;
            if (old + take > MAX_HEAD) {
                finish(s, "bad_http", "answer head longer than 64 KiB");
                return;
            }
            if (old + take > s->head_cap) {
                /* Heads are a few hundred bytes: start small, so 10,000 waiting streams stay cheap. */
                size_t cap = s->head_cap ? s->head_cap : 4096;
                while (cap < old + take)
                    cap *= 2;
                char *h = realloc(s->head, cap < MAX_HEAD ? cap : MAX_HEAD);
                if (!h) {
                    finish(s, "bad_http", "out of memory for the head");
                    return;
                }
                s->head = h;
                s->head_cap = cap < MAX_HEAD ? cap : MAX_HEAD;
            }
            memcpy(s->head + old, p, take);
            s->head_len += take;
            size_t from = old >= 3 ? old - 3 : 0;
            char *e = memmem(s->head + from, s->head_len - from, "\r\n\r\n", 4);
            if (!e) {
                n = 0;
                break;
            }
            size_t head_len = (size_t)(e - s->head) + 4;
            if (parse_head(s, head_len - 4) < 0) {
                char sample[SAMPLE_CAP];
                snprintf(sample, sizeof sample, "%.*s", (int)(head_len < 200 ? head_len : 200), s->head);
                finish(s, "bad_http", sample);
                return;
            }
            /* The bytes after the head came in this same read: go on with them. */
            size_t rest = s->head_len - head_len;
            p = p + (take - rest);
            n = rest;
            free(s->head);
            s->head = NULL;
            s->head_len = s->head_cap = 0;
            if (s->phase == P_BODY && s->remaining == 0) {
                complete(s);
                return;
            }
            break;
        }
        case P_BODY:
            take = n < s->remaining ? n : (size_t)s->remaining;
            sse_feed(s, p, take);
            s->remaining -= take;
            p += take;
            n -= take;
            if (s->remaining == 0) {
                complete(s);
                return;
            }
            break;
        case P_SIZE: {
            used = take_line(s, p, n, &whole);
            p += used;
            n -= used;
            if (!whole)
                break;
            char *semi = strchr(s->line, ';'), *q = s->line, *endp;
            if (semi)
                *semi = '\0';
            while (*q == ' ' || *q == '\t')
                q++;
            errno = 0;
            unsigned long long size = strtoull(q, &endp, 16);
            while (*endp == ' ' || *endp == '\t')
                endp++;
            if (s->line_long || endp == q || *endp != '\0' || errno) {
                finishf(s, "bad_http", "bad chunk size line '%.60s'", s->line);
                return;
            }
            s->line_len = 0;
            if (size == 0) {
                s->phase = P_TRAILERS;
            } else {
                s->remaining = size;
                s->phase = P_DATA;
            }
            break;
        }
        case P_DATA:
            take = n < s->remaining ? n : (size_t)s->remaining;
            sse_feed(s, p, take);
            s->remaining -= take;
            p += take;
            n -= take;
            if (s->remaining == 0) {
                s->phase = P_CRLF;
                s->crlf_left = 2;
            }
            break;
        case P_CRLF:
            /* The CRLF after a chunk's data: skipped unread, as the Python client did. */
            take = n < s->crlf_left ? n : s->crlf_left;
            s->crlf_left -= (unsigned char)take;
            p += take;
            n -= take;
            if (s->crlf_left == 0)
                s->phase = P_SIZE;
            break;
        case P_TRAILERS:
            used = take_line(s, p, n, &whole);
            p += used;
            n -= used;
            if (!whole)
                break;
            if (s->line_len == 0 && !s->line_long) {
                complete(s);
                return;
            }
            if (strncasecmp(s->line, "x-cost-usd", 10) == 0
                && (s->line[10] == ':' || s->line[10] == ' ' || s->line[10] == '\t'))
                s->cost_trailer = 1;
            s->line_len = 0;
            s->line_long = 0;
            break;
        default:
            return;
        }
    }
}

/* The peer closed, or the socket failed (err != 0): a stream not judged yet failed. */
static void connection_lost(struct stream *s, int err)
{
    const char *why = err ? strerror(err) : "EOF";
    if (s->phase == P_HEAD)
        finish(s, "closed_before_headers", why);
    else if (s->error_event)
        finish(s, "error_event", s->error_text ? s->error_text : "");
    else
        finishf(s, "closed_before_done", "%s after %d chunks", why, s->chunks);
}

/* ---- sockets ------------------------------------------------------------------------------ */

static void modify(struct stream *s, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)(s - streams) };
    epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

/* Writes the rest of the request; waits for EPOLLOUT when the socket is full. */
static void write_request(struct stream *s)
{
    while (s->req_off < request_len) {
        ssize_t w = send(s->fd, request + s->req_off, request_len - s->req_off, MSG_NOSIGNAL);
        if (w > 0) {
            s->req_off += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            modify(s, EPOLLIN | EPOLLOUT);
            return;
        } else {
            connection_lost(s, w < 0 ? errno : 0);
            return;
        }
    }
    modify(s, EPOLLIN);
}

/* errno text as the kind of a connect error: "Connection refused" -> connect_connection_refused. */
static void connect_failed(struct stream *s, int err)
{
    char kind[64];
    const char *text = strerror(err);
    size_t n = (size_t)snprintf(kind, sizeof kind, "connect_%s", text);
    if (n >= sizeof kind)
        n = sizeof kind - 1;
    for (size_t i = 8; i < n; i++)
        kind[i] = kind[i] == ' ' ? '_' : (char)tolower((unsigned char)kind[i]);
    finishf(s, kind, "[Errno %d] %s", err, text);
}

static void connected(struct stream *s)
{
    connecting_remove(s);
    s->phase = P_HEAD;
    opened++;
    if (++open_now > max_open)
        max_open = open_now;
    write_request(s);
}

static void start_stream(struct stream *s)
{
    s->started = mono();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        connect_failed(s, errno);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->fd = fd;
    s->phase = P_CONNECTING;
    s->slot = nconnecting;
    connecting[nconnecting++] = (int)(s - streams);
    struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint64_t)(s - streams) };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        connect_failed(s, errno);
        return;
    }
    /* A non-blocking connect interrupted by a signal goes on by itself, like EINPROGRESS: the
     * socket turns writable (or reports its error) once it is done. */
    if (connect(fd, (struct sockaddr *)&target, sizeof target) == 0)
        connected(s);
    else if (errno != EINPROGRESS && errno != EINTR)
        connect_failed(s, errno);
}

static void on_event(struct stream *s, uint32_t e)
{
    static char buf[65536];
    if (s->judged || s->fd < 0)
        return;
    if (s->phase == P_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err)
            connect_failed(s, err);
        else if (e & (EPOLLOUT | EPOLLIN))
            connected(s);
        return;
    }
    if ((e & EPOLLOUT) && s->req_off < request_len) {
        write_request(s);
        if (s->judged)
            return;
    }
    if (!(e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
        return;
    for (;;) {
        ssize_t r = recv(s->fd, buf, sizeof buf, 0);
        n_recvs++;
        if (r > 0) {
            double now = mono();
            if (s->first == 0) {
                s->first = now;
                if (++answering > max_answering)
                    max_answering = answering;
            } else {
                if (now - s->last > s->max_gap)
                    s->max_gap = now - s->last;
                if (now - s->last > 1.0) {
                    int w = (int)((now - t0) / 5);
                    long_gaps[w < 255 ? w : 255]++;
                }
            }
            s->last = now;
            answer_feed(s, buf, (size_t)r);
            if (s->judged || (size_t)r < sizeof buf)
                return;
        } else if (r == 0) {
            connection_lost(s, 0);
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else {
            connection_lost(s, errno);
            return;
        }
    }
}

/* ---- the result --------------------------------------------------------------------------- */

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);  /* bytes past ASCII as Latin-1: the JSON stays valid */
        else
            putchar(c);
    }
    putchar('"');
}

static int cmp_int(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Index of the p-th percentile in a sorted array of n, rounded half to even like Python's
 * round(), so the figures match what the Python client reported. */
static int pct_index(int n, double p)
{
    double x = p / 100.0 * (n - 1);
    int k = (int)x;
    double frac = x - k;
    if (frac > 0.5 || (frac == 0.5 && (k & 1)))
        k++;
    return k < 0 ? 0 : (k > n - 1 ? n - 1 : k);
}

static void print_pcts_double(const char *name, double *v, int n, double scale, int digits,
                              const char *const *labels, const double *ps, int np)
{
    printf("\"%s\":{", name);
    for (int i = 0; i < np; i++) {
        printf("%s\"%s\":", i ? "," : "", labels[i]);
        if (n)
            printf("%.*f", digits, v[pct_index(n, ps[i])] * scale);
        else
            printf("null");
    }
    printf("}");
}

static void print_int_stats(const char *name, int *v, int n, const char *extra_name, long extra)
{
    qsort(v, (size_t)n, sizeof *v, cmp_int);
    if (n)
        printf("\"%s\":{\"%s\":%d,\"min\":%d,\"median\":%d,\"max\":%d", name, extra_name ? extra_name : "n", n, v[0],
               v[pct_index(n, 50)], v[n - 1]);
    else
        printf("\"%s\":{\"%s\":0,\"min\":null,\"median\":null,\"max\":null", name, extra_name ? extra_name : "n");
    if (extra >= 0)
        printf(",\"total\":%ld", extra);
    printf("}");
}

static void print_result(double seconds, double ramp_measured, long nofile)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec
                 + (double)ru.ru_stime.tv_usec / 1e6;
    long total_chunks = 0;
    for (int i = 0; i < n_ok; i++)
        total_chunks += ok_chunks[i];
    qsort(ttfb, (size_t)n_ttfb, sizeof *ttfb, cmp_double);
    qsort(durations, (size_t)n_ok, sizeof *durations, cmp_double);
    qsort(gaps, (size_t)n_ok, sizeof *gaps, cmp_double);

    printf("{\"client\":\"bench/slow_streams.c\",\"requested\":%d,\"opened\":%ld,\"ok\":%ld,\"errors\":%ld,"
           "\"max_open_sum\":%ld,\"missing_cost_trailer\":%ld,\"client_cpu_seconds\":%.2f,\"seconds\":%.2f,"
           "\"ramp_seconds_measured\":%.2f,\"max_busy_ms\":%.1f,\"epoll_waits\":%ld,\"recvs\":%ld,\"max_answering\":%ld,\"errors_by_kind\":{",
           count, opened, ok, errors, max_open, missing_trailer, cpu, seconds, ramp_measured, max_busy * 1000,
           n_waits, n_recvs, max_answering);
    for (int i = 0; i < nkinds; i++) {
        printf("%s", i ? "," : "");
        json_string(kinds[i].name);
        printf(":%ld", kinds[i].count);
    }
    printf("},\"error_samples\":{");
    int first = 1;
    for (int i = 0; i < nkinds; i++) {
        if (!kinds[i].sample[0])
            continue;
        printf("%s", first ? "" : ",");
        first = 0;
        json_string(kinds[i].name);
        putchar(':');
        json_string(kinds[i].sample);
    }
    printf("},\"procs\":1,\"open_files_limit_per_process\":%ld,\"expect_chunks\":%d,", nofile, expect_chunks);
    print_int_stats("chunks_per_stream", ok_chunks, n_ok, "streams", total_chunks);
    static const char *const l3[] = { "p50", "p99", "max" }, *const l4[] = { "min", "p50", "p99", "max" };
    static const double p3[] = { 50, 99, 100 }, p4[] = { 0, 50, 99, 100 };
    putchar(',');
    print_pcts_double("ttfb_ms", ttfb, n_ttfb, 1000.0, 1, l3, p3, 3);
    putchar(',');
    print_pcts_double("duration_s", durations, n_ok, 1.0, 2, l4, p4, 4);
    putchar(',');
    print_pcts_double("max_gap_between_reads_s", gaps, n_ok, 1.0, 2, l3, p3, 3);
    putchar(',');
    print_int_stats("chunks_read_by_streams_open_at_deadline", timeout_chunks, n_timeout, "streams", -1);
    /* When the long silences happened: a burst in one window is a stall of one process. */
    int last = -1;
    for (int i = 0; i < 256; i++)
        if (long_gaps[i])
            last = i;
    printf(",\"gaps_over_1s_by_5s_window\":[");
    for (int i = 0; i <= last; i++)
        printf("%s%ld", i ? "," : "", long_gaps[i]);
    printf("]}\n");
    fflush(stdout);

    fprintf(stderr, "slow_streams: %d streams requested, %ld opened, %ld good, %ld errors {", count, opened, ok, errors);
    for (int i = 0; i < nkinds; i++)
        fprintf(stderr, "%s\"%s\": %ld", i ? ", " : "", kinds[i].name, kinds[i].count);
    fprintf(stderr, "}; chunks/stream %d; duration p50 %.2fs max %.2fs; client CPU %.1fs\n",
            n_ok ? ok_chunks[pct_index(n_ok, 50)] : 0, n_ok ? durations[pct_index(n_ok, 50)] : 0.0,
            n_ok ? durations[n_ok - 1] : 0.0, cpu);
}

/* ---- main --------------------------------------------------------------------------------- */

static void usage_exit(void)
{
    fprintf(stderr, "usage: slow_streams --port N [--host 127.0.0.1] [--key K] [--model M] [--count 1000] "
                    "[--ramp 10] [--expect-chunks 1] [--deadline 120] [--connect-concurrency 256] "
                    "[--connect-timeout 10] [--poll-ms 2]\n");
    exit(2);
}

/* Lifts RLIMIT_NOFILE towards want (the hard limit too when we may); returns the soft limit. */
static long raise_nofile(long want)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)want)
        return rl.rlim_cur == RLIM_INFINITY ? want : (long)rl.rlim_cur;
    struct rlimit up = { (rlim_t)want, rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)want ? rl.rlim_max : (rlim_t)want };
    if (setrlimit(RLIMIT_NOFILE, &up) < 0) {
        up.rlim_cur = up.rlim_max = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &up);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    return (long)rl.rlim_cur;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage_exit();
        if (strcmp(a, "--host") == 0) host = v;
        else if (strcmp(a, "--port") == 0) port = atoi(v);
        else if (strcmp(a, "--key") == 0) key = v;
        else if (strcmp(a, "--model") == 0) model = v;
        else if (strcmp(a, "--count") == 0) count = atoi(v);
        else if (strcmp(a, "--ramp") == 0) ramp = atof(v);
        else if (strcmp(a, "--expect-chunks") == 0) expect_chunks = atoi(v);
        else if (strcmp(a, "--deadline") == 0) deadline_s = atof(v);
        else if (strcmp(a, "--connect-concurrency") == 0) connect_concurrency = atoi(v);
        else if (strcmp(a, "--connect-timeout") == 0) connect_timeout = atof(v);
        else if (strcmp(a, "--poll-ms") == 0) poll_ms = atoi(v);
        else usage_exit();
        i++;
    }
    if (port <= 0 || port > 65535 || count < 0 || ramp < 0 || connect_concurrency < 1 || deadline_s <= 0
        || poll_ms < 0 || poll_ms > 999)
        usage_exit();
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &target.sin_addr) != 1) {
        printf("{\"error\":\"--host must be an IPv4 address\"}\n");
        return 2;
    }
    long nofile = raise_nofile((long)count + 64);
    if (nofile < (long)count + 16) {
        printf("{\"error\":\"open-files limit %ld is too low for %d streams in one process\"}\n", nofile, count);
        return 2;
    }
    char body[512];
    int bl = snprintf(body, sizeof body,
                      "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],\"stream\":true}", model);
    int rl = bl < 0 || (size_t)bl >= sizeof body ? -1 :
        snprintf(request, sizeof request,
                 "POST /v1/chat/completions HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: %d\r\n\r\n%s",
                 host, port, key, bl, body);
    if (rl < 0 || (size_t)rl >= sizeof request) {
        printf("{\"error\":\"--key or --model too long\"}\n");
        return 2;
    }
    request_len = (size_t)rl;
    signal(SIGPIPE, SIG_IGN);

    int n = count ? count : 1;
    streams = calloc((size_t)n, sizeof *streams);
    ok_chunks = calloc((size_t)n, sizeof *ok_chunks);
    timeout_chunks = calloc((size_t)n, sizeof *timeout_chunks);
    ttfb = calloc((size_t)n, sizeof *ttfb);
    durations = calloc((size_t)n, sizeof *durations);
    gaps = calloc((size_t)n, sizeof *gaps);
    connecting = calloc((size_t)connect_concurrency, sizeof *connecting);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!streams || !ok_chunks || !timeout_chunks || !ttfb || !durations || !gaps || !connecting || epfd < 0) {
        printf("{\"error\":\"out of memory or no epoll\"}\n");
        return 2;
    }
    for (int i = 0; i < count; i++)
        streams[i].fd = -1;

    t0 = mono();
    double deadline = t0 + deadline_s, next_scan = t0, ramp_done = -1;
    int next_start = 0;
    static struct epoll_event events[1024];
    while (finished < count) {
        double now = mono();
        if (now >= deadline)
            break;
        /* Start every stream whose time has come, while connect slots are free. */
        while (next_start < count && nconnecting < connect_concurrency
               && t0 + ramp * next_start / count <= now)
            start_stream(&streams[next_start++]);
        if (next_start == count && ramp_done < 0)
            ramp_done = mono() - t0;
        if (now >= next_scan) {
            /* Connects that took too long; the list is short (connect_concurrency at most). */
            for (int i = nconnecting - 1; i >= 0; i--) {
                struct stream *s = &streams[connecting[i]];
                if (now - s->started >= connect_timeout)
                    finish(s, "connect_timeout", "no connection within the connect timeout");
            }
            next_scan = now + 0.1;
        }
        double wake = next_scan < deadline ? next_scan : deadline;
        if (next_start < count && nconnecting < connect_concurrency) {
            double due = t0 + ramp * next_start / count;
            if (due < wake)
                wake = due;
        }
        int timeout = wake > now ? (int)((wake - now) * 1000.0) + 1 : 0;
        double busy = mono() - now;
        if (busy > max_busy)
            max_busy = busy;
        int ne = epoll_wait(epfd, events, 1024, timeout);
        n_waits++;
        if (ne < 0 && errno != EINTR) {
            perror("slow_streams: epoll_wait");
            break;
        }
        double woke = mono();
        for (int i = 0; i < ne; i++)
            on_event(&streams[events[i].data.u64], events[i].events);
        busy = mono() - woke;
        if (busy > max_busy)
            max_busy = busy;
        if (ne < 1024 && poll_ms > 0) {
            /* Let the answers gather for a moment instead of waking for each of them: a sender
             * that wakes a process blocked in epoll_wait pays for it (on a VM, an interrupt to
             * the other CPU), and that cost would be charged to the gateway's sends. */
            struct timespec pause = { 0, (long)poll_ms * 1000000L };
            while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
                ;
        }
    }

    /* Streams still open (or never started) at the deadline: "still receiving" when bytes came in
     * the last 10 s (the stream moves, only late: a CPU-starved run), else "stalled". */
    double now = mono();
    for (int i = 0; i < count; i++) {
        struct stream *s = &streams[i];
        if (s->judged)
            continue;
        timeout_chunks[n_timeout++] = s->chunks;
        if (s->last > 0 && now - s->last < 10)
            finishf(s, "timeout_still_receiving", "open at the deadline, %d chunks read", s->chunks);
        else if (s->last > 0)
            finishf(s, "timeout_stalled", "open at the deadline, nothing for %.0f s, %d chunks read", now - s->last,
                    s->chunks);
        else
            finishf(s, "timeout_stalled", "open at the deadline, %s, 0 chunks read",
                    s->phase == P_WAIT ? "never started" : "no byte of an answer ever");
    }
    print_result(mono() - t0, ramp_done < 0 ? mono() - t0 : ramp_done, nofile);
    close(epfd);
    free(streams);
    free(ok_chunks);
    free(timeout_chunks);
    free(ttfb);
    free(durations);
    free(gaps);
    free(connecting);
    return errors ? 1 : 0;
}
