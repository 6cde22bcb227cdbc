// Unit tests for lib/webhook_inbox.h's table: batches with duplicates and
// retention by age on both engines; giving pages back, SQLite's own.
#include "tests/engine_fixture.h"
#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

BOOST_AUTO_TEST_SUITE(webhook_inbox_store)

// The worker's intake (lib/delivery_intake.h) stores a batch in one
// transaction: a webhook id already stored, or repeated within the batch, is a
// duplicate; the rest are stored with their own receipt times.
BOOST_DATA_TEST_CASE_F(StoreFixture, a_batch_of_deliveries_is_stored_with_its_duplicates_marked,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  WebhookInbox* store = &db.inbox();
  BOOST_REQUIRE(store->InsertDelivery("old", "replicate", "{}", kNow).ok());
  auto inserted = store->InsertDeliveries({{"a", "replicate", R"({"id":"a"})", kNow + 1},
                                           {"old", "replicate", "{}", kNow + 2},
                                           {"b", "replicate", R"({"id":"b"})", kNow + 3},
                                           {"a", "replicate", R"({"id":"a2"})", kNow + 4}});
  BOOST_REQUIRE_MESSAGE(inserted.ok(), inserted.status().ToString());
  BOOST_TEST(*inserted == (std::vector<bool>{true, false, true, false}),
             boost::test_tools::per_element());
  auto pending = store->PendingDeliveries(10);
  BOOST_REQUIRE(pending.ok());
  BOOST_REQUIRE(pending->size() == 3u);
  BOOST_TEST((*pending)[1].webhook_id == "a");
  BOOST_TEST((*pending)[1].body == R"({"id":"a"})");
  BOOST_TEST((*pending)[1].received_at == kNow + 1);
  BOOST_TEST((*pending)[2].webhook_id == "b");
  BOOST_TEST((*pending)[2].received_at == kNow + 3);
}

// The same retention on both engines, seen through the interface: what is
// left, what still dedupes, what is still pending.
BOOST_DATA_TEST_CASE_F(StoreFixture, retention_keeps_what_is_young_or_pending, testing::kEngines,
                       engine) {
  testing::EngineStore db(engine);
  WebhookInbox& inbox = db.inbox();
  const std::string body = R"({"id":"r1","status":"processing"})";
  for (const char* id : {"old-applied", "new-applied", "old-rejected", "pending"}) {
    BOOST_REQUIRE(inbox.InsertDelivery(id, "replicate", body, kNow - 8 * kDay).ok());
  }
  Observation obs = ProviderObs("r1", "processing");
  BOOST_REQUIRE(inbox.ApplyDelivery("old-applied", obs, prices, kNow - 8 * kDay).ok());
  BOOST_REQUIRE(inbox.ApplyDelivery("new-applied", obs, prices, kNow - 2 * kDay).ok());
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE(inbox.RecordDeliveryFailure("old-rejected", "bad", 3, kNow - 8 * kDay).ok());
  }
  auto summary = inbox.SummarizePending();
  BOOST_REQUIRE(summary.ok());
  BOOST_TEST(summary->count == 1);
  BOOST_TEST(summary->oldest_received_at == kNow - 8 * kDay);
  auto pruned = inbox.PruneDeliveries(kNow - kDay, kNow - 7 * kDay);
  BOOST_REQUIRE_MESSAGE(pruned.ok(), pruned.status().ToString());
  BOOST_TEST(*pruned == 4);
  auto counts = inbox.CountDeliveries();
  BOOST_REQUIRE(counts.ok());
  BOOST_TEST(counts->pending == 1);
  BOOST_TEST(counts->applied == 1);
  BOOST_TEST(counts->rejected == 0);
  BOOST_TEST(!*inbox.InsertDelivery("new-applied", "replicate", body, kNow));  // still dedupes
  BOOST_TEST(*inbox.InsertDelivery("old-applied", "replicate", body, kNow));   // forgotten
  auto pending = inbox.PendingDeliveries(10);
  BOOST_REQUIRE(pending.ok());
  BOOST_REQUIRE(pending->size() == 2u);
  BOOST_TEST((*pending)[0].webhook_id == "pending");
  BOOST_TEST((*pending)[0].body == body);
}

BOOST_FIXTURE_TEST_CASE(inbox_bodies_and_rows_are_pruned_by_age, StoreFixture) {
  auto store = OpenStore();
  const std::string body = R"({"id":"r1","status":"processing"})" + std::string(4096, ' ');
  for (const char* id : {"old-applied", "new-applied", "old-rejected", "pending"}) {
    BOOST_REQUIRE(store->InsertDelivery(id, "replicate", body, kNow - 8 * kDay).ok());
  }
  Observation obs = ProviderObs("r1", "processing");
  BOOST_REQUIRE(store->ApplyDelivery("old-applied", obs, prices, kNow - 8 * kDay).ok());
  BOOST_REQUIRE(store->ApplyDelivery("new-applied", obs, prices, kNow - 2 * kDay).ok());
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE(store->RecordDeliveryFailure("old-rejected", "bad", 3, kNow - 8 * kDay).ok());
  }
  auto pruned = store->PruneDeliveries(kNow - kDay, kNow - 7 * kDay);
  BOOST_REQUIRE_MESSAGE(pruned.ok(), pruned.status().ToString());
  // Two bodies dropped (both applied deliveries are past a day), then two rows
  // deleted (the applied and the rejected one past 7 days).
  BOOST_TEST(*pruned == 4);
  RawDb raw(db_path);
  BOOST_TEST(raw.QueryText("SELECT group_concat(webhook_id || ':' || length(body), ',') FROM "
                           "(SELECT * FROM webhook_inbox ORDER BY webhook_id)") ==
             "new-applied:0,pending:" + std::to_string(body.size()));
  // The pending delivery is still there to apply, and its id still dedupes.
  auto again = store->InsertDelivery("pending", "replicate", body, kNow);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(!*again);
  BOOST_TEST(raw.QueryText("PRAGMA auto_vacuum") == "2");  // incremental on new files
}

// Pages left free by an earlier prune whose vacuum did not run are returned by
// the next prune even when it has nothing to drop.
BOOST_FIXTURE_TEST_CASE(a_prune_with_nothing_to_drop_still_returns_free_pages, StoreFixture) {
  auto store = OpenStore();
  const std::string body = R"({"id":"r1","status":"processing"})" + std::string(64 * 1024, ' ');
  for (int i = 0; i < 20; ++i) {
    BOOST_REQUIRE(store->InsertDelivery("d" + std::to_string(i), "replicate", body, kNow).ok());
  }
  RawDb raw(db_path);
  raw.Exec("DELETE FROM webhook_inbox");  // frees the pages without a vacuum
  BOOST_REQUIRE(std::stoi(raw.QueryText("PRAGMA freelist_count")) > 100);
  auto pruned = store->PruneDeliveries(kNow - kDay, kNow - 7 * kDay);
  BOOST_REQUIRE_MESSAGE(pruned.ok(), pruned.status().ToString());
  BOOST_TEST(*pruned == 0);
  BOOST_TEST(raw.QueryText("PRAGMA freelist_count") == "0");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace store_test
}  // namespace jobpulse
