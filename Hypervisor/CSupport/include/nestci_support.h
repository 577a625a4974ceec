// GNU extensions that Swift's Glibc module does not expose (it is built without
// _GNU_SOURCE): small wrappers, compiled in nestci_support.c with it defined.
#ifndef NESTCI_SUPPORT_H
#define NESTCI_SUPPORT_H

#include <spawn.h>
#include <sys/types.h>

/// pipe2(fds, O_CLOEXEC).
int nestci_pipe_cloexec(int fds[2]);
/// posix_spawn_file_actions_addclosefrom_np (glibc >= 2.34).
int nestci_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);
/// posix_spawn_file_actions_addchdir_np (glibc >= 2.29).
int nestci_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
/// POSIX_SPAWN_SETSID (glibc >= 2.26).
short nestci_spawn_setsid_flag(void);
/// 1 when `pid` has exited (status left unreaped, so its pid and group id stay reserved).
int nestci_has_exited(pid_t pid);
/// Makes this process a child subreaper: orphaned grandchildren are re-parented to it.
int nestci_set_child_subreaper(void);

/// What `nestci_spawn` starts: `path` (already resolved) with `argv` and `envp`, standard
/// input from `stdin_path`, standard output and error to `output_fd`, in `directory`
/// when not NULL. `parent` is the caller's pid (getpid()), for the death-signal race check.
typedef struct {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *stdin_path;
    int output_fd;
    const char *directory;
    pid_t parent;
} nestci_spawn_request;

/// The step of `nestci_spawn` that failed in the child, for the error message.
enum {
    NESTCI_STEP_FORK = 0,
    NESTCI_STEP_SETSID = 1,
    NESTCI_STEP_DEATHSIG = 2,
    NESTCI_STEP_STDIN = 3,
    NESTCI_STEP_OUTPUT = 4,
    NESTCI_STEP_CHDIR = 5,
    NESTCI_STEP_CLOSE = 6,
    NESTCI_STEP_EXEC = 7,
};

/// fork + exec of a child in its own session, with PR_SET_PDEATHSIG(SIGKILL) set between
/// the two, every signal's disposition reset to the default and the mask emptied, and each
/// step checked. Returns 0 and sets `*pid`, or returns an errno value and sets `*step`
/// (the child, if any, is reaped). Call it from a thread that lives as long as the
/// process: the death signal fires when the forking *thread* ends.
int nestci_spawn(const nestci_spawn_request *request, pid_t *pid, int *step);

/// Forks the watchdog: a process in its own session that keeps a list of process groups
/// sent over `*fd` (messages of two int32: 1 = add, 2 = remove, then the group id) and,
/// when the socket closes (nestci exited or was killed, even by SIGKILL), SIGKILLs each
/// group and every process with an environment entry starting with `token` (descendants
/// that left their group; `token` is "NAME=value-prefix"), then exits. Returns its pid, or -1 with errno.
pid_t nestci_start_watchdog(int *fd, const char *token);

#endif
