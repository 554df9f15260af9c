#define _GNU_SOURCE
#include "CGatewayLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

const uint32_t CGL_EPOLLIN = EPOLLIN, CGL_EPOLLOUT = EPOLLOUT, CGL_EPOLLERR = EPOLLERR,
    CGL_EPOLLHUP = EPOLLHUP, CGL_EPOLLRDHUP = EPOLLRDHUP, CGL_EPOLLET = EPOLLET,
    CGL_EPOLLEXCLUSIVE = EPOLLEXCLUSIVE;
const int CGL_EPOLL_CTL_ADD = EPOLL_CTL_ADD, CGL_EPOLL_CTL_MOD = EPOLL_CTL_MOD,
    CGL_EPOLL_CTL_DEL = EPOLL_CTL_DEL;

int cgl_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cgl_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int cgl_epoll_wait(int epfd, cgl_epoll_event *out, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        out[i].events = evs[i].events;
        out[i].data = evs[i].data.u64;
    }
    return n;
}

int cgl_signalfd(const sigset_t *mask) { return signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC); }

int cgl_signalfd_read(int fd, int32_t *sender_pid) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n == (ssize_t)sizeof info) {
        if (sender_pid) *sender_pid = (int32_t)info.ssi_pid;
        return (int)info.ssi_signo;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
}

int cgl_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
int cgl_memfd_create(const char *name) { return memfd_create(name, MFD_CLOEXEC); }
int cgl_accept4(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int cgl_set_cloexec(int fd, int on) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFD, on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC));
}

int cgl_set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK));
}

int cgl_release_free_memory(void) { return malloc_trim(0); }
int cgl_set_process_name(const char *name) { return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0); }
int cgl_make_thread_background(int nice_value) {
    struct sched_param param = {0};
    if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) return -1;
    // On Linux, setpriority() with a thread id applies to that thread alone.
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice_value);
}
int cgl_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0); }

int cgl_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
              const int *fd_map, int pairs) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t empty, all;
    int rc;
    if ((rc = posix_spawn_file_actions_init(&actions)) != 0) return rc;
    if ((rc = posix_spawnattr_init(&attr)) != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return rc;
    }
    for (int i = 0; i < pairs && rc == 0; i++) {
        int from = fd_map[2 * i], to = fd_map[2 * i + 1];
        // dup2 onto itself would keep FD_CLOEXEC; glibc clears it for adddup2(fd, fd).
        rc = posix_spawn_file_actions_adddup2(&actions, from, to);
    }
    sigemptyset(&empty);
    sigfillset(&all);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &empty);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc == 0) rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc == 0) rc = posix_spawn(pid, path, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
}

int cgl_block_signals(const int *signals, int count, sigset_t *out_mask) {
    sigemptyset(out_mask);
    for (int i = 0; i < count; i++) sigaddset(out_mask, signals[i]);
    return pthread_sigmask(SIG_BLOCK, out_mask, NULL);
}

int cgl_unblock_all_signals(void) {
    sigset_t empty;
    sigemptyset(&empty);
    return pthread_sigmask(SIG_SETMASK, &empty, NULL);
}

int cgl_ignore_signal(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    return sigaction(sig, &sa, NULL);
}

int cgl_wifexited(int s) { return WIFEXITED(s); }
int cgl_wexitstatus(int s) { return WEXITSTATUS(s); }
int cgl_wifsignaled(int s) { return WIFSIGNALED(s); }
int cgl_wtermsig(int s) { return WTERMSIG(s); }
int cgl_wcoredump(int s) { return WCOREDUMP(s); }

static uint64_t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
uint64_t cgl_monotonic_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t cgl_realtime_ns(void) { return clock_ns(CLOCK_REALTIME); }
uint64_t cgl_process_cpu_ns(void) { return clock_ns(CLOCK_PROCESS_CPUTIME_ID); }
