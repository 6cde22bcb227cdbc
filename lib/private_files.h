// Files that hold jobpulse's data are private to the user it runs as (SPEC
// §11 "Secrets at rest"): the database, its -wal and -shm files (SQLite gives
// them the database file's mode) and the sockets beside them live in a 0700
// directory, the files themselves 0600. The database caches the provider's
// webhook secret, so a readable file would let any local user forge webhooks.
//
// Thread-safety: plain functions over the file system; no shared state.
#ifndef JOBPULSE_LIB_PRIVATE_FILES_H_
#define JOBPULSE_LIB_PRIVATE_FILES_H_

#include <sys/un.h>

#include <string>

#include "lib/status.h"

namespace jobpulse {

// Creates `dir` and its missing parents; the directories it creates are 0700
// (whatever the umask). An existing directory is left as it is: it may be
// shared (a checkout's var/), and its files are private anyway. "" is the
// current directory: nothing to do. Errors: kUnavailable
// "database_unavailable" naming the directory and errno's reason.
Status EnsurePrivateDirectory(const std::string& dir);

// Creates `path` empty with mode 0600 when it does not exist; an existing file
// and its "-wal"/"-shm" siblings lose every group and other permission bit.
// An existing file is never opened: closing a descriptor of it would drop
// every POSIX lock this process holds on it, another SQLite connection's too.
// Errors: kUnavailable "database_unavailable" naming the file and the reason.
Status EnsurePrivateFile(const std::string& path);

// Makes room for a unix socket about to be bound at `path`: nothing there is
// fine, a socket file (left by a process that was killed) is removed, and any
// other file is someone else's and stays. Whether a live process still serves
// a socket there is the caller's question to ask first. Errors: kUnavailable
// with the caller's envelope code `error`, naming the path and the reason.
Status RemoveStaleSocket(const std::string& path, const std::string& error);

// A socket file `name` in the database's directory ("var/jobpulse.db" ->
// "var/<name>"; a path without a directory gives `name` itself).
std::string SocketBesideDatabase(const std::string& database_path, const char* name);

// Fills `addr` for a unix socket at `path`; false when the path is empty or
// does not fit sun_path with its terminating NUL (107 bytes), which the kernel
// would otherwise reject or truncate.
bool UnixSocketAddress(const std::string& path, sockaddr_un* addr);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_PRIVATE_FILES_H_
