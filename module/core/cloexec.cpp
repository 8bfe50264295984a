#include "cloexec.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>

namespace aio {

bool is_close_on_exec(int fd) noexcept {
  const int flags = fcntl(fd, F_GETFD);
  return flags >= 0 && (flags & FD_CLOEXEC);
}

int close_inheritable_sockets() noexcept {
  int marked = 0;
#ifdef __linux__
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return 0;
  const int own = dirfd(dir);
  while (const dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == own) continue;
    struct stat st;
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    const int flags = fcntl(static_cast<int>(fd), F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC) &&
        fcntl(static_cast<int>(fd), F_SETFD, flags | FD_CLOEXEC) == 0) {
      ++marked;
    }
  }
  closedir(dir);
#endif
  return marked;
}

}  // namespace aio
