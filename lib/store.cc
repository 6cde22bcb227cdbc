// Store::Open with a URL: which engine a configuration selects.
#include "lib/store.h"

#include "lib/config.h"
#include "lib/pg_store.h"

namespace jobpulse {

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const std::string& url) {
  if (url.empty()) return Open(path);
  if (!IsPostgresUrl(url)) {
    return Status::Error(
        Status::Code::kInvalidArgument, "invalid_database_url",
        "database.url must start with postgresql:// or postgres://, not " + MaskDatabaseUrl(url));
  }
  auto store = PgStore::Open(url, path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(store).value());
}

Result<std::unique_ptr<Store>> Store::Open(const Config& config) {
  return Open(config.database_path.value, config.database_url.value.value_or(""));
}

}  // namespace jobpulse
