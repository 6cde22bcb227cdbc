// The PostgreSQL layer (issue 12), the counterpart of lib/sqlite_db.h: libpq
// under small RAII owners, so the PostgreSQL engine of the store interfaces
// sees no libpq type. A connection runs statements with text parameters,
// each prepared once per connection on first use (named jp_1, jp_2, ... in
// the order first seen); a result owns its rows; a Transaction begins in its constructor and
// rolls back in its destructor unless committed.
//
// Errors: libpq and server failures become Status by SQLSTATE (PgStatus):
// serialization failures, deadlocks and lock timeouts are kBusy
// "database_busy" (retry the transaction); a lost or refused connection, a
// server shutting down, a full disk are kUnavailable "database_unavailable";
// a unique, foreign-key or check violation is kConflict
// "database_constraint"; anything else kInternal "database_error". Messages
// name the statement (`what`) and never hold the connection's password.
//
// Thread-safety: a PgConnection is used by one thread at a time; results are
// values once returned.
#ifndef JOBPULSE_LIB_PG_DB_H_
#define JOBPULSE_LIB_PG_DB_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/status.h"

namespace jobpulse {

// The Status of a failure with SQLSTATE `sqlstate` (five characters; empty:
// the connection itself failed) and the server's `message`, for `what`.
Status PgStatus(std::string_view sqlstate, std::string_view message, std::string_view what);

// `text` as PostgreSQL's text accepts it: valid UTF-8 without NUL. Every
// byte of an invalid sequence, and every NUL, becomes U+FFFD; valid text is
// returned unchanged. PgConnection::Query passes every parameter through it,
// so hostile bytes in a provider's log or a webhook body cannot fail a write
// (valid text goes as it is, uncopied).
std::string PgSafeText(std::string_view text);

// `value` as a parameter's text, exactly (17 significant digits).
std::string PgDouble(double value);

// True for a postgresql:// or postgres:// URL (the schemes libpq takes).
bool IsPostgresUrl(std::string_view url);

// `url` with its password replaced by "***" (postgresql://user:***@host/db,
// and a ?password= or &password= parameter's value), for --check-config and
// logs; a URL without a password is returned as is.
std::string MaskDatabaseUrl(std::string_view url);

// The rows of one statement. Column values are read as text as the server
// sent them; Int and Real parse them (0 for NULL or text that does not parse).
class PgRows {
 public:
  PgRows() = default;
  ~PgRows();
  PgRows(PgRows&& other) noexcept;
  PgRows& operator=(PgRows&& other) noexcept;
  PgRows(const PgRows&) = delete;
  PgRows& operator=(const PgRows&) = delete;

  int size() const;
  // Rows an INSERT, UPDATE or DELETE changed (0 for other statements).
  int64_t affected() const;
  bool IsNull(int row, int col) const;
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  double Real(int row, int col) const;
  std::optional<std::string> OptText(int row, int col) const;
  std::optional<int64_t> OptInt(int row, int col) const;

 private:
  friend class PgConnection;
  explicit PgRows(void* result) : result_(result) {}
  void* result_ = nullptr;  // PGresult*, owned
};

// A statement parameter: text, or NULL.
using PgParam = std::optional<std::string>;

class PgConnection {
 public:
  // Connects with `conninfo`, a postgresql:// URL or "key=value" pairs.
  // Errors: kUnavailable "database_unavailable" with libpq's reason (the
  // password masked).
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs SQL without parameters: one or more statements (DDL, BEGIN,
  // a migration). Returns nothing of their rows.
  Status Exec(std::string_view sql, std::string_view what);
  // Runs one statement with $1.. bound to `params`, prepared on this
  // connection the first time its text is seen.
  Result<PgRows> Query(std::string_view sql, const std::vector<PgParam>& params,
                       std::string_view what);
  // LISTEN: notifications on `channel` (a plain identifier) arrive on this
  // connection from now on. Errors: the statement's.
  Status Listen(std::string_view channel);
  // The connection's socket: readable when input (a notification) arrived.
  int socket() const;
  // Reads what arrived without blocking; the number of notifications among
  // it (their payloads are not kept). Errors: kUnavailable when the
  // connection broke.
  Result<int> TakeNotifications();
  // The statements prepared so far on this connection.
  size_t prepared_count() const { return prepared_.size(); }
  // Counts the server sessions this connection has had: a statement after
  // the connection broke (a server restart, a failover) reconnects first,
  // outside a transaction, and session state (LISTEN, session locks,
  // prepared statements) is then gone. Starts at 1.
  uint64_t session() const { return sessions_; }

  // Begins in its constructor and rolls back in its destructor unless
  // committed. status() is BEGIN's outcome: check it first.
  class Transaction {
   public:
    enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };
    explicit Transaction(PgConnection& db, Isolation isolation = Isolation::kReadCommitted);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    const Status& status() const { return status_; }
    Status Commit();

   private:
    PgConnection& db_;
    Status status_;
    bool open_ = false;
  };

 private:
  explicit PgConnection(void* conn) : conn_(conn) {}
  // The Status of the connection's last failure, or of `result`'s.
  Status ResultError(const void* result, std::string_view what) const;
  // A broken connection outside a transaction is reset (ok when it works
  // again); inside one, the transaction fails.
  Status ReconnectIfBroken();

  void* conn_;  // PGconn*, owned
  bool in_transaction_ = false;
  uint64_t sessions_ = 1;
  std::map<std::string, std::string, std::less<>> prepared_;  // text -> name
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_PG_DB_H_
