/* Detach like `celery beat --detach`: fork, let the parent exit, start a session and close
 * every descriptor the process might have inherited. */
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
  long max = sysconf(_SC_OPEN_MAX);
  for (long fd = 0; fd < max; fd++)
    close((int)fd);
  open("/dev/null", O_RDWR | O_CLOEXEC);
  dup(0);
  dup(0);
}
