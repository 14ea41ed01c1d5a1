/* Corrected: the cached descriptor is re-validated before each use (as CPython's os.urandom
 * does): if its device and inode no longer match /dev/urandom, the number was closed and
 * reused, so it is opened again. */
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

static int random_fd = -1;
static dev_t random_dev;
static ino_t random_ino;

static int get_random_fd(void)
{
  struct stat st;
  if (random_fd >= 0 && (fstat(random_fd, &st) != 0 || st.st_dev != random_dev || st.st_ino != random_ino))
    random_fd = -1;
  if (random_fd < 0) {
    random_fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (random_fd < 0 || fstat(random_fd, &st) != 0)
      return -1;
    random_dev = st.st_dev;
    random_ino = st.st_ino;
  }
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
