/* A periodic scheduler: names its instance with a UUID, detaches, then reports to statsd. */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int uuid_generate(unsigned char out[16]);
void detach(const char *workdir);

int main(void)
{
  unsigned char instance[16];
  uuid_generate(instance);
  detach("/");
  int statsd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons(8125);
  for (;;) {
    unsigned char task_id[16];
    /* reads from whatever now has random_fd's number: the statsd socket */
    uuid_generate(task_id);
    sendto(statsd, task_id, sizeof task_id, 0, (struct sockaddr *)&addr, sizeof addr);
    sleep(1);
  }
}
