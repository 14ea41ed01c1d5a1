/* A tiny storage daemon in the shape of Bacula's: job threads, alerts run through a pipe. */
#ifndef SD_H
#define SD_H

struct job {
  int id;
  const char *volume;
};

void start_job_threads(struct job *jobs, int n);
void wait_for_jobs(void);
void send_alert(const struct job *job, const char *what);
int open_bpipe(char *prog, char **argv);
int close_bpipe(int fd);

#endif
