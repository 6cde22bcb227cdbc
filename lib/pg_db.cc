#include "lib/pg_db.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <utility>

namespace jobpulse {
namespace {

PGresult* AsResult(void* p) { return static_cast<PGresult*>(p); }
const PGresult* AsResult(const void* p) { return static_cast<const PGresult*>(p); }
PGconn* AsConn(void* p) { return static_cast<PGconn*>(p); }

// libpq's messages end with a newline and may quote the conninfo's host, never
// its password; trimmed for our one-line logs.
std::string Trimmed(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

Status PgStatus(std::string_view sqlstate, std::string_view message, std::string_view what) {
  const std::string text = std::string(what) + ": " + std::string(message);
  const std::string_view cls = sqlstate.substr(0, 2);
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") {
    return Status::Error(Status::Code::kBusy, "database_busy", text);
  }
  // No SQLSTATE: the connection failed. Class 08 connection exceptions, 53
  // insufficient resources (disk full, too many connections), 57P0x the
  // server shutting down or not yet up.
  if (sqlstate.empty() || cls == "08" || cls == "53" || sqlstate.substr(0, 4) == "57P0") {
    return Status::Error(Status::Code::kUnavailable, "database_unavailable", text);
  }
  if (cls == "23") return Status::Error(Status::Code::kConflict, "database_constraint", text);
  return Status::Error(Status::Code::kInternal, "database_error", text);
}

namespace {

// The length of the valid UTF-8 sequence at text[i] (1 to 4), or 0 when the
// bytes there are not one (overlong forms, surrogates and code points past
// U+10FFFF included) or are a NUL.
size_t ValidSequenceAt(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 == 0) return 0;
  if (b0 < 0x80) return 1;
  size_t length;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

namespace {

bool IsSafeText(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = ValidSequenceAt(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

}  // namespace

std::string PgDouble(double value) {
  char text[40];
  std::snprintf(text, sizeof(text), "%.17g", value);  // exact: a double round-trips
  return text;
}

std::string PgSafeText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t length = ValidSequenceAt(text, i);
    if (length == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

bool IsPostgresUrl(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

std::string MaskDatabaseUrl(std::string_view url) {
  std::string masked(url);
  // The user-info's password: scheme://user:PASSWORD@host...
  const size_t scheme = masked.find("://");
  if (scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t slash = masked.find('/', start);
    const size_t at = masked.rfind('@', slash == std::string::npos ? std::string::npos : slash);
    const size_t colon = masked.find(':', start);
    if (at != std::string::npos && at > start && colon != std::string::npos && colon < at) {
      masked.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // A password parameter: a URL's ?password=...&...
  if (IsPostgresUrl(masked)) {
    for (size_t at = masked.find("password="); at != std::string::npos;
         at = masked.find("password=", at + 1)) {
      if (std::string_view("?&").find(masked[at - 1]) == std::string_view::npos) continue;
      const size_t value = at + 9;
      const size_t end = masked.find('&', value);
      masked.replace(value, (end == std::string::npos ? masked.size() : end) - value, "***");
    }
    return masked;
  }
  // key=value pairs: password = 'quoted \' value' or a bare one.
  static const std::regex kPassword(R"((\bpassword\s*=\s*)('([^'\\]|\\.)*'|\S*))");
  masked = std::regex_replace(masked, kPassword, "$1***");
  return masked;
}

PgRows::~PgRows() { PQclear(AsResult(result_)); }

PgRows::PgRows(PgRows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}

PgRows& PgRows::operator=(PgRows&& other) noexcept {
  if (this != &other) {
    PQclear(AsResult(result_));
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

int PgRows::size() const { return result_ ? PQntuples(AsResult(result_)) : 0; }

int64_t PgRows::affected() const {
  if (!result_) return 0;
  const char* n = PQcmdTuples(AsResult(result_));
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

bool PgRows::IsNull(int row, int col) const {
  return !result_ || row >= size() || col >= PQnfields(AsResult(result_)) ||
         PQgetisnull(AsResult(result_), row, col);
}

std::string PgRows::Text(int row, int col) const {
  if (IsNull(row, col)) return "";
  return std::string(PQgetvalue(AsResult(result_), row, col),
                     PQgetlength(AsResult(result_), row, col));
}

int64_t PgRows::Int(int row, int col) const { return OptInt(row, col).value_or(0); }

double PgRows::Real(int row, int col) const {
  if (IsNull(row, col)) return 0;
  return std::strtod(PQgetvalue(AsResult(result_), row, col), nullptr);
}

std::optional<std::string> PgRows::OptText(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Text(row, col);
}

std::optional<int64_t> PgRows::OptInt(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  const char* text = PQgetvalue(AsResult(result_), row, col);
  const char* end = text + PQgetlength(AsResult(result_), row, col);
  int64_t value = 0;
  const auto [ptr, error] = std::from_chars(text, end, value);
  if (error != std::errc() || ptr != end) return std::nullopt;
  return value;
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (!conn) {
    return PgStatus("", "out of memory", "connect to " + MaskDatabaseUrl(conninfo));
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    Status s = PgStatus("", Trimmed(PQerrorMessage(conn)), "connect to PostgreSQL");
    PQfinish(conn);
    return s;
  }
  // The server's notices ("table does not exist, skipping") are not errors
  // and must not reach stderr as lines of their own.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(AsConn(conn_)); }

Status PgConnection::ResultError(const void* result, std::string_view what) const {
  const char* state = result ? PQresultErrorField(AsResult(result), PG_DIAG_SQLSTATE) : nullptr;
  const char* message = result ? PQresultErrorMessage(AsResult(result)) : nullptr;
  if (!message || !*message) message = PQerrorMessage(AsConn(conn_));
  // A broken connection has no SQLSTATE: PgStatus reads that as unavailable.
  return PgStatus(state ? state : "", Trimmed(message), what);
}

Status PgConnection::ReconnectIfBroken() {
  if (PQstatus(AsConn(conn_)) != CONNECTION_BAD) return Status::Ok();
  // Inside a transaction the statements before the break are gone: the
  // transaction fails, and a new connection must not run the rest of it alone.
  if (in_transaction_) return PgStatus("", "the connection broke", "transaction");
  PQreset(AsConn(conn_));
  if (PQstatus(AsConn(conn_)) != CONNECTION_OK) {
    return PgStatus("", Trimmed(PQerrorMessage(AsConn(conn_))), "reconnect to PostgreSQL");
  }
  prepared_.clear();  // a new session has none of them
  ++sessions_;
  return Status::Ok();
}

Status PgConnection::Exec(std::string_view sql, std::string_view what) {
  if (Status s = ReconnectIfBroken(); !s.ok()) return s;
  PgRows rows(PQexec(AsConn(conn_), std::string(sql).c_str()));
  const ExecStatusType st = PQresultStatus(AsResult(rows.result_));
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
    return Status::Ok();
  }
  return ResultError(rows.result_, what);
}

Result<PgRows> PgConnection::Query(std::string_view sql, const std::vector<PgParam>& params,
                                   std::string_view what) {
  if (Status s = ReconnectIfBroken(); !s.ok()) return s;
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    const std::string name = "jp_" + std::to_string(prepared_.size() + 1);
    PgRows prepared(PQprepare(AsConn(conn_), name.c_str(), std::string(sql).c_str(), 0, nullptr));
    if (PQresultStatus(AsResult(prepared.result_)) != PGRES_COMMAND_OK) {
      return ResultError(prepared.result_, what);
    }
    it = prepared_.emplace(std::string(sql), name).first;
  }
  // Hostile bytes (a NUL, invalid UTF-8 in a provider's log) would fail the
  // statement: repaired copies go instead.
  std::vector<std::string> safe;
  safe.reserve(params.size());
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const PgParam& p : params) {
    if (!p) {
      values.push_back(nullptr);
      continue;
    }
    if (IsSafeText(*p)) {  // the usual case: no copy
      values.push_back(p->c_str());
      continue;
    }
    safe.push_back(PgSafeText(*p));
    values.push_back(safe.back().c_str());
  }
  PgRows rows(PQexecPrepared(AsConn(conn_), it->second.c_str(), static_cast<int>(values.size()),
                             values.data(), nullptr, nullptr, 0));
  const ExecStatusType st = PQresultStatus(AsResult(rows.result_));
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ResultError(rows.result_, what);
  return rows;
}

PgConnection::Transaction::Transaction(PgConnection& db, Isolation isolation) : db_(db) {
  const char* begin = isolation == Isolation::kSerializable ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                      : isolation == Isolation::kRepeatableRead
                          ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                          : "BEGIN";
  status_ = db_.Exec(begin, "begin");
  open_ = status_.ok();
  db_.in_transaction_ = open_;
}

PgConnection::Transaction::~Transaction() {
  // Nothing to report from a destructor: a failed rollback leaves the
  // connection broken, and its next statement says so.
  if (open_) db_.Exec("ROLLBACK", "rollback").ok();
  db_.in_transaction_ = false;
}

Status PgConnection::Transaction::Commit() {
  if (!open_) return status_.ok() ? Status::Internal("commit of a finished transaction") : status_;
  open_ = false;
  db_.in_transaction_ = false;
  PgRows rows(PQexec(AsConn(db_.conn_), "COMMIT"));
  if (PQresultStatus(AsResult(rows.result_)) != PGRES_COMMAND_OK) {
    return db_.ResultError(rows.result_, "commit");
  }
  // A transaction a failed statement aborted answers COMMIT with ROLLBACK.
  if (std::string_view(PQcmdStatus(AsResult(rows.result_))) == "ROLLBACK") {
    return Status::Error(Status::Code::kInternal, "database_error",
                         "commit: the transaction had failed and was rolled back");
  }
  return Status::Ok();
}

Status PgConnection::Listen(std::string_view channel) {
  return Exec("LISTEN " + std::string(channel), "listen");
}

int PgConnection::socket() const { return PQsocket(AsConn(conn_)); }

Result<int> PgConnection::TakeNotifications() {
  if (PQconsumeInput(AsConn(conn_)) == 0 || PQstatus(AsConn(conn_)) != CONNECTION_OK) {
    return PgStatus("", Trimmed(PQerrorMessage(AsConn(conn_))), "read notifications");
  }
  int count = 0;
  while (PGnotify* notify = PQnotifies(AsConn(conn_))) {
    PQfreemem(notify);
    ++count;
  }
  return count;
}

}  // namespace jobpulse
