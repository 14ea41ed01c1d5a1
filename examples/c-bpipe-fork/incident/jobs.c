#include <pthread.h>
#include <syslog.h>
#include "sd.h"

#define MAX_JOBS 16

static pthread_t tids[MAX_JOBS];
static int njobs;

static int write_volume(const struct job *job)
{
  syslog(LOG_INFO, "job %d: writing %s", job->id, job->volume);
  return job->id % 2 ? 0 : -1;
}

static void *job_thread(void *arg)
{
  struct job *job = arg;
  if (write_volume(job) != 0)
    send_alert(job, "volume write failed");
  return NULL;
}

void start_job_threads(struct job *jobs, int n)
{
  for (njobs = 0; njobs < n && njobs < MAX_JOBS; njobs++)
    pthread_create(&tids[njobs], NULL, job_thread, &jobs[njobs]);
}

void wait_for_jobs(void)
{
  for (int i = 0; i < njobs; i++)
    pthread_join(tids[i], NULL);
}
