/* Corrected: no blanket close. Standard input and output go to /dev/null; every other
 * descriptor this program opens is close-on-exec, and the ones libraries cached stay valid. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

void detach(const char *workdir)
{
  pid_t pid = fork();
  if (pid < 0)
    exit(1);
  if (pid > 0)
    _exit(0);
  setsid();
  if (chdir(workdir) != 0)
    _exit(1);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    close(null);
  }
}
