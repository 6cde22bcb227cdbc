#include "lib/leases.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <random>

namespace jobpulse {

const std::string& ThisHost() {
  static const std::string host = [] {
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0')
      return std::string("localhost");
    std::string text(name);
    for (char& c : text) {
      if (c == '@' || c == ':' || static_cast<unsigned char>(c) <= ' ') c = '_';
    }
    return text;
  }();
  return host;
}

std::string NewLeaseOwner() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return "pid:" + std::to_string(getpid()) + ":" + std::to_string(rng()) + "@" + ThisHost();
}

namespace {

// A killed process stays a zombie until its parent reaps it, and supervisord
// reaps in a loop that may sleep a second: it no longer runs, so its leases
// are free. /proc/<pid>/stat's state follows the parenthesised command name.
bool IsZombie(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return false;
  const size_t close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

}  // namespace

// kill -9 of a handler mid-sync must not block everyone until the lease
// expires (SPEC §6). EPERM means the process exists.
bool LeaseOwnerIsDead(std::string_view owner) {
  if (!owner.starts_with("pid:")) return false;
  // A pid means something only on its own machine (one database, many nodes).
  if (const size_t at = owner.rfind('@'); at != std::string_view::npos) {
    if (owner.substr(at + 1) != ThisHost()) return false;
  }
  const std::string_view digits = owner.substr(4, owner.find(':', 4) - 4);
  if (digits.empty() || digits.size() > 9) return false;
  pid_t pid = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return false;
    pid = pid * 10 + (c - '0');
  }
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  return IsZombie(pid);
}

Result<std::optional<ScopedLease>> ScopedLease::TryAcquire(Leases& leases, std::string name,
                                                           int64_t ttl_micros, int64_t now) {
  std::string owner = NewLeaseOwner();
  auto taken = leases.TryAcquireLease(name, owner, ttl_micros, now);
  if (!taken.ok()) return taken.status();
  if (!*taken) return std::optional<ScopedLease>();
  return std::optional<ScopedLease>(ScopedLease(&leases, std::move(name), std::move(owner)));
}

ScopedLease::ScopedLease(ScopedLease&& other) noexcept
    : leases_(std::exchange(other.leases_, nullptr)),
      name_(std::move(other.name_)),
      owner_(std::move(other.owner_)) {}

ScopedLease::~ScopedLease() { Release(); }

Status ScopedLease::Release() {
  if (!leases_) return Status::Ok();
  Leases* const leases = std::exchange(leases_, nullptr);
  return leases->ReleaseLease(name_, owner_);
}

}  // namespace jobpulse
