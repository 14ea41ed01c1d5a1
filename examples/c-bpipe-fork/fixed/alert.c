#include <stdio.h>
#include <syslog.h>
#include <unistd.h>
#include "sd.h"

static char mail_command[] = "/usr/sbin/bsmtp";

void send_alert(const struct job *job, const char *what)
{
  char subject[128];
  snprintf(subject, sizeof subject, "job %d: %s", job->id, what);
  char *argv[] = { mail_command, "-s", subject, "operator@localhost", NULL };
  syslog(LOG_WARNING, "alert for job %d: %s", job->id, what);
  int fd = open_bpipe(mail_command, argv);
  if (fd < 0)
    return;
  close_bpipe(fd);
}
