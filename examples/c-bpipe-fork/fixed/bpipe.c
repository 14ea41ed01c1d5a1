/* Run a program with its standard output on a pipe, without a hand-written fork child:
 * posix_spawn() only takes async-signal-safe steps between its fork and the exec, and the
 * pipe is close-on-exec except for the end that is dup2'ed onto stdout. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sd.h"

extern char **environ;

int open_bpipe(char *prog, char **argv)
{
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0)
    return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  pid_t pid;
  int rc = posix_spawnp(&pid, prog, &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return -1;
  }
  return fds[0];
}

int close_bpipe(int fd)
{
  int status = 0;
  close(fd);
  wait(&status);
  return status;
}
