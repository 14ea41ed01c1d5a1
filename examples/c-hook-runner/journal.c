/* The daemon's journal: opened once, appended to from every part of the program. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int journal_fd = -1;

void journal_open(const char *path)
{
  journal_fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0640);
}

void journal_write(const char *line)
{
  if (journal_fd >= 0)
    (void)write(journal_fd, line, strlen(line));
}
