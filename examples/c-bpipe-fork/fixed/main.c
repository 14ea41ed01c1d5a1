/* Corrected version: see bpipe.c. */
#include <syslog.h>
#include "sd.h"

int main(void)
{
  static struct job jobs[] = { { 1, "vol-0001" }, { 2, "vol-0002" }, { 3, "vol-0003" } };
  openlog("bacula-sd", LOG_PID, LOG_DAEMON);
  start_job_threads(jobs, 3);
  wait_for_jobs();
  closelog();
  return 0;
}
