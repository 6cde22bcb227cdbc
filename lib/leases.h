// Named, expiring locks shared by every process on the database (SPEC §6):
// one handler refreshes a stale job while the others answer from the cache,
// one full sync runs at a time, a bounded number of handlers wait on a
// provider. An owner is "pid:<N>:<unique>@<host>" (NewLeaseOwner), so that a
// lease whose holder process died is free at once rather than when it
// expires; the host keeps another machine's pid from being mistaken for one
// of ours when several machines share the database.
//
// Errors: as lib/job_store.h (kBusy, kUnavailable, kInternal).
// Thread-safety: an implementation is one connection; one thread at a time.
#ifndef JOBPULSE_LIB_LEASES_H_
#define JOBPULSE_LIB_LEASES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/status.h"

namespace jobpulse {

class Leases {
 public:
  virtual ~Leases() = default;

  // True when `owner` now holds `name` until now + ttl: it was free, expired,
  // already `owner`'s, or held by an owner "pid:<N>:..." whose process N no
  // longer exists. False when someone else holds it.
  virtual Result<bool> TryAcquireLease(std::string_view name, std::string_view owner,
                                       int64_t ttl_micros, int64_t now) = 0;
  // Frees `name` if `owner` holds it; a lease held by someone else is left alone.
  virtual Status ReleaseLease(std::string_view name, std::string_view owner) = 0;
};

// This machine's name as lease owners carry it (gethostname, with '@', ':'
// and blanks made '_'; "localhost" when it has none).
const std::string& ThisHost();

// "pid:<getpid()>:<random>@<ThisHost()>", a fresh owner for this process.
std::string NewLeaseOwner();

// True when `owner` is "pid:<N>:..." (ending "@<host>" of this machine, or
// naming no host), and process N no longer exists or is a zombie (killed, not
// yet reaped). Owners of another form, of another machine, and processes we
// may not signal, count as alive.
bool LeaseOwnerIsDead(std::string_view owner);

// A lease held for a scope: released when it goes out of scope (a failed
// release only leaves it to expire). Move-only.
class ScopedLease {
 public:
  // Takes `name` for a new owner: the held lease, or nullopt when someone else
  // holds it. Errors: TryAcquireLease's.
  static Result<std::optional<ScopedLease>> TryAcquire(Leases& leases, std::string name,
                                                       int64_t ttl_micros, int64_t now);

  ScopedLease(ScopedLease&& other) noexcept;
  ScopedLease& operator=(ScopedLease&&) = delete;
  ScopedLease(const ScopedLease&) = delete;
  ScopedLease& operator=(const ScopedLease&) = delete;
  ~ScopedLease();

  // Releases now; returns the release's outcome. Idempotent.
  Status Release();
  const std::string& name() const { return name_; }

 private:
  ScopedLease(Leases* leases, std::string name, std::string owner)
      : leases_(leases), name_(std::move(name)), owner_(std::move(owner)) {}
  Leases* leases_;
  std::string name_;
  std::string owner_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_LEASES_H_
