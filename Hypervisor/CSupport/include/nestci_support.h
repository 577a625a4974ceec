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

#endif
