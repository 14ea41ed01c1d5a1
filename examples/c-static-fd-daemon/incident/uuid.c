/* Random UUIDs the way libuuid 2.20 made them: the /dev/urandom descriptor is opened on
 * first use and cached for the life of the process. */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

static int random_fd = -2;

static int get_random_fd(void)
{
  if (random_fd == -2)
    random_fd = open("/dev/urandom", O_RDONLY);
  return random_fd;
}

int uuid_generate(unsigned char out[16])
{
  int fd = get_random_fd();
  if (fd < 0 || read(fd, out, 16) != 16)
    return -1;
  out[6] = (out[6] & 0x0f) | 0x40;
  out[8] = (out[8] & 0x3f) | 0x80;
  return 0;
}
