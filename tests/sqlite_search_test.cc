// Unit tests for the job list's search (JobFilter::query, SPEC §9 `q`;
// lib/sqlite_search.cc): what matches, the two ways of finding matches
// agreeing with a plain reading of the rule, and the search tables kept in
// step with the jobs by their triggers.
#include <algorithm>
#include <cctype>

#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

BOOST_AUTO_TEST_SUITE(sqlite_search)

// Schema 8: a write only notes the job; IndexPendingSearches writes its
// trigram row in a batch (a new job's inserted, a changed job's replaced),
// and a search indexes what is left first, so it never misses a fresh job.
BOOST_FIXTURE_TEST_CASE(the_trigram_index_is_kept_in_batches, StoreFixture) {
  auto store = OpenStore();
  RawDb raw(db_path);
  const auto fts = [&] {
    return raw.QueryText(
        "SELECT coalesce(group_concat(job_id || '=' || external_id, ','), '') FROM (SELECT * "
        "FROM job_search ORDER BY job_id)");
  };
  const auto pending = [&] {
    return raw.QueryText(
        "SELECT coalesce(group_concat(job_id || ':' || indexed, ','), '') FROM (SELECT * FROM "
        "job_search_pending ORDER BY job_id)");
  };
  for (const char* id : {"job-one", "job-two"}) {
    Observation obs;
    obs.source = Observation::Source::kLocal;
    obs.job_id = id;
    obs.provider = "replicate";
    obs.status = JobStatus::kPending;
    MustApply(*store, obs, kNow);
  }
  BOOST_TEST(pending() == "job-one:0,job-two:0");
  BOOST_TEST(fts() == "");
  auto indexed = store->IndexPendingSearches(1);
  BOOST_TEST_REQUIRE(indexed.ok());
  BOOST_TEST(*indexed == 1);
  BOOST_TEST(store->IndexPendingSearches(10).value() == 1);
  BOOST_TEST(store->IndexPendingSearches(10).value() == 0);
  BOOST_TEST(pending() == "");
  BOOST_TEST(fts() == "job-one=,job-two=");
  // The run id arrives (a dispatch): the row is replaced, not added to.
  Observation run = ProviderObs("r8-abcdef", "starting");
  run.job_id = "job-one";
  MustApply(*store, run, kNow + kSecond);
  BOOST_TEST(pending() == "job-one:1");
  JobFilter filter;
  filter.query = "r8-abcd";  // found at once: the search indexes first
  BOOST_TEST((Ids(MustList(*store, filter)) == std::vector<std::string>{"job-one"}));
  BOOST_TEST(pending() == "");
  BOOST_TEST(fts() == "job-one=r8-abcdef,job-two=");
  // A progress write changes no searched field: nothing to index.
  Observation progress = ProviderObs("r8-abcdef", "processing");
  progress.logs = "Step 1/10";
  MustApply(*store, progress, kNow + 2 * kSecond);
  BOOST_TEST(pending() == "");
}

// SPEC §9 `q`: a case-insensitive substring of the job id, the external id,
// the config name or the model, through the search index, kept in step with
// the jobs by the table's triggers.
BOOST_FIXTURE_TEST_CASE(search_finds_a_substring_of_any_searched_field, StoreFixture) {
  auto store = OpenStore();
  const auto add = [&](const char* id, const char* config, const char* model, int64_t at) {
    Observation obs = ProviderObs(std::string("ext-") + id, "processing");
    obs.job_id = id;
    obs.created_at = at;
    if (config) obs.config_name = config;
    if (model) obs.metadata["model"] = model;
    MustApply(*store, obs, kNow);
  };
  add("run-aaa", "Flux-LoRA_v2", "owner/sdxl-trainer", kNow - 3 * kSecond);
  add("run-bbb", "portrait", "owner/FLUX-dev", kNow - 2 * kSecond);
  add("run-ccc", nullptr, nullptr, kNow - 1 * kSecond);
  add("x", "100%_done", nullptr, kNow);
  const auto search = [&](const std::string& q) {
    JobFilter filter;
    filter.query = q;
    const JobPage page = MustList(*store, filter);
    BOOST_TEST(page.total == static_cast<int64_t>(page.jobs.size()));
    return Ids(page);
  };
  using Ids_ = std::vector<std::string>;
  BOOST_TEST((search("flux") == Ids_{"run-bbb", "run-aaa"}));  // config name, model
  BOOST_TEST((search("LORA_V") == Ids_{"run-aaa"}));           // case-insensitive
  BOOST_TEST((search("ext-run-c") == Ids_{"run-ccc"}));        // external id
  BOOST_TEST((search("run-") == Ids_{"run-ccc", "run-bbb", "run-aaa"}));
  BOOST_TEST((search("sdxl-trainer") == Ids_{"run-aaa"}));  // model
  BOOST_TEST((search("nothing here") == Ids_{}));
  BOOST_TEST((search("\"quoted\"") == Ids_{}));              // a quote is text, not syntax
  BOOST_TEST((search("OR") == Ids_{"run-bbb", "run-aaa"}));  // short: portrait, LoRA
  BOOST_TEST((search("%_") == Ids_{"x"}));                   // wildcards are literal
  BOOST_TEST((search("2") == Ids_{"run-aaa"}));              // one character: _v2
  // With the other filters and paging.
  JobFilter filter;
  filter.query = "run-";
  filter.limit = 1;
  filter.offset = 1;
  const JobPage page = MustList(*store, filter);
  BOOST_TEST(page.total == 3);
  BOOST_TEST((Ids(page) == Ids_{"run-bbb"}));

  // A changed model moves the job in the index; a deleted job leaves it.
  Observation renamed = ProviderObs("ext-run-aaa", "succeeded");
  renamed.metadata["model"] = "owner/other";
  MustApply(*store, renamed, kNow + kSecond);
  BOOST_TEST((search("sdxl") == Ids_{}));
  BOOST_TEST((search("owner/other") == Ids_{"run-aaa"}));
  BOOST_REQUIRE(store->DeleteJob("run-aaa").ok());
  BOOST_TEST((search("owner/other") == Ids_{}));
  RawDb raw(db_path);
  BOOST_TEST(raw.QueryText("SELECT count(*) FROM job_search") == "3");
  BOOST_TEST(raw.QueryText("SELECT count(*) FROM job_search_rows") == "3");
}

// The merge rewrites every column of a row; the index must only change when
// a searched field does (the update trigger's WHEN), so a progress write
// costs no index work.
BOOST_FIXTURE_TEST_CASE(a_progress_write_leaves_the_search_index_alone, StoreFixture) {
  auto store = OpenStore();
  Observation obs = ProviderObs("ext-1", "processing");
  obs.metadata["model"] = "owner/name";
  MustApply(*store, obs, kNow);
  RawDb raw(db_path);
  const std::string before = raw.QueryText("SELECT group_concat(rowid) FROM job_search");
  // job_search_rows has no rowid to watch: count its writes instead.
  raw.Exec(
      "CREATE TABLE row_writes (n INTEGER NOT NULL); INSERT INTO row_writes VALUES (0);"
      "CREATE TRIGGER count_row_writes AFTER INSERT ON job_search_rows BEGIN "
      "UPDATE row_writes SET n = n + 1; END");
  obs.logs = "Step 10/100";
  MustApply(*store, obs, kNow + kSecond);
  BOOST_TEST(MustGet(*store, "ext-1").progress.progress.value_or(-1) == 10.0);
  BOOST_TEST(raw.QueryText("SELECT group_concat(rowid) FROM job_search") == before);
  BOOST_TEST(raw.QueryText("SELECT n FROM row_writes") == "0");
  obs.provider_status = "succeeded";  // a status change does rewrite the row
  MustApply(*store, obs, kNow + 2 * kSecond);
  BOOST_TEST(raw.QueryText("SELECT n FROM row_writes") == "1");
}

// Enough jobs that some searches match more than the index path takes (1,000
// candidates) and are answered by walking job_search_rows: every answer, on
// either path, must equal the rule applied to each job by hand.
struct ManyJobs : StoreFixture {
  struct Made {
    std::string id, external_id, config, model;
    JobStatus status;
  };
  static constexpr int kJobs = 2100;

  ManyJobs() : store(OpenStore()) {
    for (int i = 0; i < kJobs; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "run-%04d", i);
      // 1,000 + 1,001 + 99: one config on each side of the index path's limit.
      const char* config = i < 1000 ? "alpha-1000" : i < 2001 ? "beta-1001" : "gamma";
      Observation obs = ProviderObs(std::string("ext-") + id, i % 3 ? "succeeded" : "failed");
      obs.job_id = id;
      obs.config_name = config;
      obs.metadata["model"] = i % 2 ? "owner/Flux-dev" : "owner/ÉCOLE";
      obs.created_at = kNow - int64_t{kJobs - i} * kSecond;  // the last is the newest
      MustApply(*store, obs, kNow);
      made.push_back({id, obs.external_id, config, obs.metadata["model"],
                      i % 3 ? JobStatus::kCompleted : JobStatus::kFailed});
    }
    std::reverse(made.begin(), made.end());  // list order: newest first
  }

  static std::string AsciiLower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  // The rule, job by job: the ids of the page and the total.
  std::pair<std::vector<std::string>, int64_t> Expected(const JobFilter& filter) const {
    std::vector<std::string> page;
    int64_t total = 0;
    const std::string q = AsciiLower(*filter.query);
    for (const Made& m : made) {
      const bool status_ok = filter.statuses.empty() ||
                             std::find(filter.statuses.begin(), filter.statuses.end(), m.status) !=
                                 filter.statuses.end();
      bool text_ok = false;
      for (const std::string* field : {&m.id, &m.external_id, &m.config, &m.model}) {
        text_ok = text_ok || AsciiLower(*field).find(q) != std::string::npos;
      }
      if (!status_ok || !text_ok) continue;
      if (total >= filter.offset && total < filter.offset + filter.limit) page.push_back(m.id);
      ++total;
    }
    return {page, total};
  }

  std::unique_ptr<Store> store;
  std::vector<Made> made;
};

BOOST_FIXTURE_TEST_CASE(every_search_equals_the_rule_applied_job_by_job, ManyJobs) {
  struct Case {
    std::string q;
    std::vector<JobStatus> statuses;
    int64_t offset;
    int64_t expected_total;  // stated, so a wrong reference fails too
  };
  const JobStatus failed = JobStatus::kFailed;
  const std::vector<Case> cases = {
      {"flux", {}, 0, 1050},         // half the jobs: the walk
      {"FLUX-DEV", {}, 1000, 1050},  // a page past the first 1,000 matches
      {"owner/", {}, 2080, 2100},    // every job; the last page is short
      {"owner/", {}, 2100, 2100},    // past the end: empty page, full total
      {"owner/", {failed}, 690, 700},
      {"alpha-1000", {}, 980, 1000},  // exactly the index path's limit
      {"beta-1001", {}, 990, 1001},   // one more: the walk
      {"beta-1001", {failed}, 300, 333},
      {"ALPHA-1000", {failed}, 0, 334},
      {"run-20", {}, 40, 100},  // the index
      {"run-0007", {}, 0, 1},
      {"a-", {}, 1500, 2001},  // two characters: the walk
      {"x", {}, 0, 2100},      // one character, in every external id
      {"9", {failed}, 0, 187},
      {"ÉCOLE", {}, 0, 1050},  // other letters match exactly ...
      {"écOLE", {}, 0, 0},     // ... É and é are different text
      {"École", {}, 0, 1050},  // while ASCII letters fold
      {"nothing", {}, 0, 0},
      {"gamma", {}, 500, 99},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("q=" << c.q << " failed-only=" << !c.statuses.empty()
                            << " offset=" << c.offset) {
      JobFilter filter;
      filter.query = c.q;
      filter.statuses = c.statuses;
      filter.offset = c.offset;
      const auto [ids, total] = Expected(filter);
      BOOST_TEST(total == c.expected_total);
      const JobPage page = MustList(*store, filter);
      BOOST_TEST(page.total == total);
      BOOST_TEST(Ids(page) == ids, boost::test_tools::per_element());
    }
  }
}

// job_search_rows holds the list's status, provider and type next to the
// text, so a search with a status filter follows every transition.
BOOST_FIXTURE_TEST_CASE(the_search_rows_follow_status_and_field_changes, StoreFixture) {
  auto store = OpenStore();
  const auto count = [&](const std::string& q, std::vector<JobStatus> statuses) {
    JobFilter filter;
    filter.query = q;
    filter.statuses = std::move(statuses);
    return MustList(*store, filter).total;
  };
  Observation obs = ProviderObs("ext-s", "processing");
  obs.config_name = "cfg-one";
  MustApply(*store, obs, kNow);
  BOOST_TEST(count("cfg-one", {JobStatus::kRunning}) == 1);
  obs.provider_status = "succeeded";
  MustApply(*store, obs, kNow + kSecond);
  BOOST_TEST(count("cfg-one", {JobStatus::kRunning}) == 0);
  BOOST_TEST(count("cfg-one", {JobStatus::kCompleted}) == 1);
  BOOST_TEST(count("cf", {JobStatus::kCompleted}) == 1);
  BOOST_REQUIRE(store->DeleteJob("ext-s").ok());
  BOOST_TEST(count("cfg-one", {}) == 0);
  RawDb raw(db_path);
  BOOST_TEST(raw.QueryText("SELECT count(*) FROM job_search_rows") == "0");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace store_test
}  // namespace jobpulse
