#define _GNU_SOURCE
#include "nestci_support.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int nestci_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int nestci_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int nestci_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

short nestci_spawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }

int nestci_has_exited(pid_t pid) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return 0;
    return info.si_pid == pid;
}

int nestci_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

// MARK: - Spawning with a parent-death signal

// Everything between fork and exec is async-signal-safe: the parent is multithreaded,
// so the child may call nothing that takes a lock (no malloc, no stdio).
static void child_fail(int report, int step) {
    int failure[2] = {step, errno};
    ssize_t ignored = write(report, failure, sizeof failure);
    (void)ignored;
    _exit(127);
}

static void reset_signals(void) {
    // SwiftPM resets 1..<SIGSYS; go up to NSIG so real-time signals are default too.
    // sigaction fails for SIGKILL, SIGSTOP and glibc's reserved ones: that is fine.
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    for (int signal = 1; signal < NSIG; signal++) {
        if (signal == SIGKILL || signal == SIGSTOP) continue;
        if (sigaction(signal, &action, NULL) != 0) {
            // glibc refuses its own reserved signals (32, 33), yet an ignored one would
            // stay ignored across exec: ask the kernel directly (SIG_DFL needs no restorer).
            struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } raw = {SIG_DFL, 0, NULL, 0};
            (void)syscall(SYS_rt_sigaction, signal, &raw, NULL, sizeof raw.mask);
        }
    }
}

int nestci_spawn(const nestci_spawn_request *request, pid_t *pid_out, int *step_out) {
    int report[2];
    *step_out = NESTCI_STEP_FORK;
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    // All signals blocked across fork: the child must not run one of nestci's handlers
    // before it has reset them.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid == 0) {
        reset_signals();
        if (setsid() < 0) child_fail(report[1], NESTCI_STEP_SETSID);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(report[1], NESTCI_STEP_DEATHSIG);
        // nestci may have died before prctl: then the signal will never come.
        if (getppid() != request->parent) _exit(128 + SIGKILL);
        int input = open(request->stdin_path, O_RDONLY | O_CLOEXEC);
        if (input < 0) child_fail(report[1], NESTCI_STEP_STDIN);
        if (input != 0 && dup2(input, 0) < 0) child_fail(report[1], NESTCI_STEP_STDIN);
        if (input == 0 && fcntl(0, F_SETFD, 0) < 0) child_fail(report[1], NESTCI_STEP_STDIN);
        if (dup2(request->output_fd, 1) < 0 || dup2(request->output_fd, 2) < 0) child_fail(report[1], NESTCI_STEP_OUTPUT);
        if (request->directory && chdir(request->directory) != 0) child_fail(report[1], NESTCI_STEP_CHDIR);
        // Descriptors the runtime opened without CLOEXEC must not leak into the child (a
        // grandchild holding them keeps our pipes open). Marked close-on-exec rather than
        // closed, so the report pipe survives until execve.
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) child_fail(report[1], NESTCI_STEP_CLOSE);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(request->path, request->argv, request->envp);
        child_fail(report[1], NESTCI_STEP_EXEC);
    }
    int forkError = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        return forkError;
    }
    int failure[2] = {0, 0};
    ssize_t got;
    do {
        got = read(report[0], failure, sizeof failure);
    } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof failure) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *step_out = failure[0];
        return failure[1] ? failure[1] : EIO;
    }
    *pid_out = pid;
    return 0;
}

// MARK: - Watchdog

extern char **environ;

#define NESTCI_WATCHDOG_GROUPS 65536
static int32_t watchdog_groups[NESTCI_WATCHDOG_GROUPS];
static char watchdog_environ[1 << 20];

// Whether /proc/PID/environ holds `token` as one whole entry prefix.
static int environ_has(const char *pid, const char *token, size_t length) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/environ", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    size_t used = 0;
    ssize_t got;
    while (used < sizeof watchdog_environ - 1 && (got = read(fd, watchdog_environ + used, sizeof watchdog_environ - 1 - used)) > 0) {
        used += (size_t)got;
    }
    close(fd);
    size_t start = 0;
    for (size_t i = 0; i <= used; i++) {
        if (i == used || watchdog_environ[i] == 0) {
            if (i - start >= length && memcmp(watchdog_environ + start, token, length) == 0) return 1;
            start = i + 1;
        }
    }
    return 0;
}

static void watchdog_main(int fd, const char *token) {
    size_t count = 0;
    for (;;) {
        int32_t message[2];
        ssize_t got = recv(fd, message, sizeof message, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got != (ssize_t)sizeof message) break;  // 0: nestci is gone
        if (message[0] == 1 && count < NESTCI_WATCHDOG_GROUPS) {
            watchdog_groups[count++] = message[1];
        } else if (message[0] == 2) {
            for (size_t i = 0; i < count; i++) {
                if (watchdog_groups[i] == message[1]) {
                    watchdog_groups[i] = watchdog_groups[--count];
                    break;
                }
            }
        }
    }
    for (size_t i = 0; i < count; i++) kill(-watchdog_groups[i], SIGKILL);
    // Descendants that left their group carry nestci's token in their environment.
    size_t length = strlen(token);
    for (int round = 0; round < 3 && length > 0; round++) {
        DIR *proc = opendir("/proc");
        if (!proc) break;
        int found = 0;
        struct dirent *entry;
        while ((entry = readdir(proc)) != NULL) {
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
            pid_t pid = (pid_t)atoi(entry->d_name);
            if (pid == getpid()) continue;
            if (environ_has(entry->d_name, token, length)) {
                kill(pid, SIGKILL);
                found = 1;
            }
        }
        closedir(proc);
        if (!found) break;
        usleep(50000);
    }
    _exit(0);
}

pid_t nestci_start_watchdog(int *fd_out, const char *token) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return -1;
    // The token is copied before fork: the child must not touch memory another thread
    // might be changing.
    static char token_copy[256];
    snprintf(token_copy, sizeof token_copy, "%s", token);
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid == 0) {
        reset_signals();
        // A terminal's ^C or a kill of nestci's group must not take the watchdog first.
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        setsid();
        // The watchdog is a fork, not an exec: its /proc/PID/environ is nestci's own, and
        // would carry the token of a supervising nestci above us (a test, a nested run),
        // whose sweeper would then take it for an escaped descendant. Rename the entry in
        // place (this copy of the page only).
        const char *equals = strchr(token_copy, '=');
        size_t name = equals ? (size_t)(equals - token_copy) + 1 : 0;
        for (char **entry = environ; name > 0 && entry && *entry; entry++) {
            if (strncmp(*entry, token_copy, name) == 0) (*entry)[0] = '_';
        }
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        int keep = pair[1];
        if (keep > 3) close_range(3, (unsigned)keep - 1, 0);
        close_range((unsigned)keep + 1, ~0U, 0);
        if (keep < 3) _exit(1);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        watchdog_main(keep, token_copy);
    }
    int forkError = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(pair[1]);
    if (pid < 0) {
        close(pair[0]);
        errno = forkError;
        return -1;
    }
    *fd_out = pair[0];
    return pid;
}
