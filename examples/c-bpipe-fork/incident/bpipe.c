/* Run a program with its standard output on a pipe (after Bacula's open_bpipe()). */
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>
#include "sd.h"

int open_bpipe(char *prog, char **argv)
{
  int fds[2];
  if (pipe(fds) < 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    /* child: drop the parent's syslog connection and descriptors, then run the program */
    closelog();
    dup2(fds[1], STDOUT_FILENO);
    for (int i = 3; i < 32; i++)
      close(i);
    execvp(prog, argv);
    _exit(255);
  }
  close(fds[1]);
  return fds[0];
}

int close_bpipe(int fd)
{
  int status = 0;
  close(fd);
  wait(&status);
  return status;
}
