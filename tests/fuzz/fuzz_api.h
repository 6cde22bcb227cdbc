// An Api over a real SQLite store in a private temporary directory, for the
// fuzz targets that drive Api::Handle. The provider has no token and a base
// URL nobody listens on, so no input can make it reach the network; the
// clock is fixed. The store is recreated every `kResetEvery` calls of
// MaybeReset() so a long run does not grow the database without bound.
#ifndef JOBPULSE_TESTS_FUZZ_FUZZ_API_H_
#define JOBPULSE_TESTS_FUZZ_FUZZ_API_H_

#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "lib/api.h"
#include "lib/config.h"
#include "lib/cost.h"
#include "lib/store.h"

namespace jobpulse::fuzz {

// 2026-11-28T10:00:00Z in microseconds.
constexpr int64_t kFuzzNow = int64_t{1795860000} * 1000000;
// The Standard Webhooks test vector secret (reference/replicate.md §4).
constexpr const char* kFuzzWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

class FuzzApi {
 public:
  static constexpr int kResetEvery = 2000;

  // `seed` fills every new database (the first one and each after a reset).
  explicit FuzzApi(std::function<void(Store&, const PriceTable&)> seed = {})
      : seed_(std::move(seed)) {
    std::string dir = (std::filesystem::temp_directory_path() / "jobpulse_fuzz_XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    dir_ = dir;
    Config config;
    config.database_path.value = dir_ + "/jobpulse.db";
    config.replicate.webhook_secret.value = kFuzzWebhookSecret;
    config.replicate.base_url.value = "http://127.0.0.1:9/v1";  // never contacted: no token
    config.replicate.api_token.value.reset();
    prices_.per_second = config.replicate.hardware_prices.value;
    prices_.default_sku = config.replicate.default_hardware.value;
    Open();
    api_ = std::make_unique<Api>(
        config, [this]() -> Result<Store*> { return store_.get(); }, [] { return kFuzzNow; });
  }
  ~FuzzApi() {
    api_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Api& api() { return *api_; }
  Store& store() { return *store_; }
  const PriceTable& prices() const { return prices_; }

  // Starts over with an empty database now and then.
  void MaybeReset() {
    if (++calls_ % kResetEvery != 0) return;
    store_.reset();
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(dir_ + "/jobpulse.db" + suffix, ec);
    }
    Open();
  }

 private:
  void Open() {
    auto opened = Store::Open(dir_ + "/jobpulse.db");
    if (!opened.ok()) {
      std::fprintf(stderr, "cannot open the fuzz store: %s\n", opened.status().ToString().c_str());
      std::abort();
    }
    store_ = std::move(*opened);
    if (seed_) seed_(*store_, prices_);
  }

  std::function<void(Store&, const PriceTable&)> seed_;
  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Api> api_;
  PriceTable prices_;
  int64_t calls_ = 0;
};

// The process's FuzzApi, made on the first call (with `seed`) and removed at
// exit.
inline FuzzApi& TheFuzzApi(std::function<void(Store&, const PriceTable&)> seed = {}) {
  static FuzzApi* api = nullptr;
  if (!api) {
    api = new FuzzApi(std::move(seed));
    std::atexit([] {
      delete api;
      api = nullptr;
    });
  }
  return *api;
}

}  // namespace jobpulse::fuzz

#endif  // JOBPULSE_TESTS_FUZZ_FUZZ_API_H_
