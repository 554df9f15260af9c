// Thin wrappers for what Swift's Glibc module does not export. No logic lives here beyond
// unpacking macros and packed structs; every caller is in Swift.
#ifndef CGATEWAYLINUX_H
#define CGATEWAYLINUX_H

#include <stdint.h>
#include <stddef.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/socket.h>

// MARK: epoll (struct epoll_event is packed on x86_64, so it crosses as plain fields)

typedef struct {
    uint32_t events;
    uint64_t data;
} cgl_epoll_event;

extern const uint32_t CGL_EPOLLIN, CGL_EPOLLOUT, CGL_EPOLLERR, CGL_EPOLLHUP, CGL_EPOLLRDHUP,
    CGL_EPOLLET, CGL_EPOLLEXCLUSIVE;
extern const int CGL_EPOLL_CTL_ADD, CGL_EPOLL_CTL_MOD, CGL_EPOLL_CTL_DEL;

int cgl_epoll_create(void);
int cgl_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
int cgl_epoll_wait(int epfd, cgl_epoll_event *events, int max, int timeout_ms);

// MARK: file descriptors

int cgl_signalfd(const sigset_t *mask);
/// Reads one signal from a signalfd; returns the signal number, 0 when none is pending, -1 on error.
int cgl_signalfd_read(int fd, int32_t *sender_pid);
int cgl_eventfd(void);
int cgl_memfd_create(const char *name);
int cgl_accept4(int fd);
int cgl_set_cloexec(int fd, int on);
int cgl_set_nonblocking(int fd, int on);

// MARK: process

/* Returns the allocator's free pages to the system (malloc_trim(0)). */
int cgl_release_free_memory(void);
int cgl_set_process_name(const char *name);
// Marks the calling thread as background work: SCHED_BATCH (a wake-up does not preempt the
// running thread) and the given nice value. Returns 0, or -1 with errno set.
int cgl_make_thread_background(int nice_value);
int cgl_set_parent_death_signal(int signal);
/// posix_spawn with an empty signal mask and every signal at its default disposition.
/// `fd_map` holds pairs (from, to) applied with dup2 in the child, in order.
int cgl_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
              const int *fd_map, int fd_map_pairs);
int cgl_block_signals(const int *signals, int count, sigset_t *out_mask);
int cgl_unblock_all_signals(void);
int cgl_ignore_signal(int signal);
int cgl_wifexited(int status);
int cgl_wexitstatus(int status);
int cgl_wifsignaled(int status);
int cgl_wtermsig(int status);
int cgl_wcoredump(int status);

// MARK: clocks

uint64_t cgl_monotonic_ns(void);
uint64_t cgl_realtime_ns(void);
/// CPU time used by this process (user + system), in nanoseconds.
uint64_t cgl_process_cpu_ns(void);

// MARK: 64-bit atomics on shared memory (lock-free on every target we build for)

static inline uint64_t cgl_atomic_load(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void cgl_atomic_store(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint64_t cgl_atomic_add(uint64_t *p, uint64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static inline uint64_t cgl_atomic_sub(uint64_t *p, uint64_t v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }
static inline int cgl_atomic_cas(uint64_t *p, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
static inline void cgl_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0), "64-bit atomics must be lock-free");

#endif
