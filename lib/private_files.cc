#include "lib/private_files.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace jobpulse {
namespace {

Status Unavailable(const std::string& what, const std::string& path, int err) {
  return Status::Error(Status::Code::kUnavailable, "database_unavailable",
                       "cannot " + what + " " + path + ": " + std::strerror(err));
}

// Drops group and other bits of an existing file; a missing one is fine.
Status TightenIfPresent(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::Ok() : Unavailable("inspect", path, errno);
  }
  if ((st.st_mode & 077) == 0) return Status::Ok();
  if (::chmod(path.c_str(), st.st_mode & 0700) != 0) return Unavailable("chmod", path, errno);
  return Status::Ok();
}

}  // namespace

Status EnsurePrivateDirectory(const std::string& dir) {
  if (dir.empty()) return Status::Ok();
  namespace fs = std::filesystem;
  fs::path built;
  for (const fs::path& part : fs::path(dir)) {
    built /= part;
    if (::mkdir(built.c_str(), 0700) == 0) {
      // mkdir applies the umask; 0700 is what we promise, so set it outright.
      if (::chmod(built.c_str(), 0700) != 0) return Unavailable("chmod", built.string(), errno);
    } else if (errno != EEXIST) {
      return Unavailable("create directory", built.string(), errno);
    }
  }
  return Status::Ok();
}

Status EnsurePrivateFile(const std::string& path) {
  // Never open and close an existing database file: closing any descriptor of
  // a file drops every POSIX lock this process holds on it, those of another
  // SQLite connection of the process included. When a handler's counter
  // thread opened its own connection beside the handler's, the handler's
  // reads went stale (the web_ui suite's page stopped following runs, a list
  // missed 430 jobs another process had written). Only a file that is not
  // there yet is created, exclusively.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Unavailable("inspect", path, errno);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
    } else if (errno != EEXIST) {
      // A read-only file system: not ours to decide here; SQLite reports what
      // it can do.
      if (errno == EACCES || errno == EROFS) return Status::Ok();
      return Unavailable("create", path, errno);
    }
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    if (Status s = TightenIfPresent(path + suffix); !s.ok()) return s;
  }
  return Status::Ok();
}

Status RemoveStaleSocket(const std::string& path, const std::string& error) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return Status::Ok();  // nothing there
  if (!S_ISSOCK(st.st_mode)) {
    return Status::Error(Status::Code::kUnavailable, error, path + " exists and is not a socket",
                         {{"path", path}});
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::Error(Status::Code::kUnavailable, error,
                         "cannot remove the stale socket " + path + ": " + std::strerror(errno),
                         {{"path", path}});
  }
  return Status::Ok();
}

std::string SocketBesideDatabase(const std::string& database_path, const char* name) {
  const std::filesystem::path dir = std::filesystem::path(database_path).parent_path();
  return dir.empty() ? std::string(name) : (dir / name).string();
}

bool UnixSocketAddress(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

}  // namespace jobpulse
