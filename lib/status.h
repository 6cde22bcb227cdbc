// Status and Result<T>: how errors cross module boundaries in jobpulse.
//
// A Status is either ok or carries a Code (the class of failure, which the
// HTTP layer maps to a status code in exactly one place, lib/http.cc ErrorResponse), a
// stable machine-readable error string for the SPEC §9 envelope ("job_not_found",
// "invalid_parameter", ...), a human message and optional string details.
//
// Thread-safety: values; safe to copy and move between threads.
#ifndef JOBPULSE_LIB_STATUS_H_
#define JOBPULSE_LIB_STATUS_H_

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace jobpulse {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,   // 400: the caller sent something we reject
    kUnauthenticated,   // 401: a credential or signature is missing or wrong
    kNotFound,          // 404
    kMethodNotAllowed,  // 405
    kConflict,          // 409: the resource is in the wrong state
    kTooLarge,          // 413
    kRateLimited,       // 429: retry_after_seconds says when
    kUpstream,          // 502: the provider failed or answered nonsense
    kUnavailable,       // 503: a dependency (database, provider config) is missing
    kBusy,              // 503: the database stayed locked past the 5 s wait
    kInternal,          // 500: a bug or an unexpected library failure
    // Appended, not sorted in: the numbers are stored (provider_sync.cc sync records).
    kForbidden,             // 403: refused whoever asks (a cross-site request, SPEC §11)
    kUnsupportedMediaType,  // 415: a body in a content type we do not take
  };
  using Details = std::vector<std::pair<std::string, std::string>>;

  Status() = default;  // ok

  static Status Ok() { return Status(); }
  // `error` is the envelope code (snake_case); `message` is for people.
  static Status Error(Code code, std::string error, std::string message, Details details = {}) {
    Status s;
    s.code_ = code;
    s.error_ = std::move(error);
    s.message_ = std::move(message);
    s.details_ = std::move(details);
    return s;
  }
  static Status InvalidArgument(std::string message, Details details = {}) {
    return Error(Code::kInvalidArgument, "invalid_request", std::move(message), std::move(details));
  }
  static Status NotFound(std::string message, Details details = {}) {
    return Error(Code::kNotFound, "not_found", std::move(message), std::move(details));
  }
  static Status Internal(std::string message) {
    return Error(Code::kInternal, "internal_error", std::move(message));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& error() const { return error_; }
  const std::string& message() const { return message_; }
  const Details& details() const { return details_; }

  // Seconds a client should wait (kRateLimited, kBusy); 0 = unspecified.
  int retry_after_seconds() const { return retry_after_seconds_; }
  Status& set_retry_after_seconds(int s) {
    retry_after_seconds_ = s;
    return *this;
  }

  // "ok" or "<error>: <message>", for logs.
  std::string ToString() const { return ok() ? "ok" : error_ + ": " + message_; }

 private:
  Code code_ = Code::kOk;
  std::string error_;
  std::string message_;
  Details details_;
  int retry_after_seconds_ = 0;
};

// Either a value or a non-ok Status. Accessing value() of an error aborts
// (std::get throws std::bad_variant_access), so check ok() first.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be ok

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_STATUS_H_
