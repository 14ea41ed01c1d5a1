/* The daemon's journal, opened with O_CLOEXEC: the hooks the daemon runs do not inherit it. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int journal_fd = -1;

void journal_open(const char *path)
{
  journal_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

void journal_write(const char *line)
{
  if (journal_fd >= 0)
    (void)write(journal_fd, line, strlen(line));
}
