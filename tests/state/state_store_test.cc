#include "state/state_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/mongosim_process.h"

namespace {

using state::StateStore;
using state::TaskState;

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testsupport::make_temp_dir("state") + "/.mongoshift"; }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(dir_).parent_path(), ec);
  }
  std::unique_ptr<StateStore> open() {
    auto s = StateStore::open(dir_);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::string dir_;
};

TEST_F(StateStoreTest, CreatesTheDirectoryAndTheLatestSchema) {
  auto s = open();
  ASSERT_TRUE(s);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/state.db"));
  EXPECT_EQ(s->schema_version(), static_cast<int>(state::builtin_migrations().size()));
}

TEST_F(StateStoreTest, RegistersTasksByFileWithGeneratedNames) {
  auto s = open();
  auto a = s->register_task("/etc/a.yaml", "", "text a").value();
  auto b = s->register_task("/etc/b.yaml", "", "text b").value();
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(a.name.rfind("task-", 0), 0u);
  EXPECT_EQ(a.name.back(), '1');
  EXPECT_EQ(b.name.back(), '2');
  EXPECT_EQ(a.state, TaskState::kNotStarted);
  // Registering again keeps the id and the generated name, and refreshes the text.
  auto again = s->register_task("/etc/a.yaml", "", "text a2").value();
  EXPECT_EQ(again.id, a.id);
  EXPECT_EQ(again.name, a.name);
  EXPECT_EQ(again.config_text, "text a2");
  EXPECT_NE(again.config_hash, a.config_hash);
  auto named = s->register_task("/etc/a.yaml", "orders-move", "text a2").value();
  EXPECT_EQ(named.name, "orders-move");
  EXPECT_EQ(s->list_tasks().value().size(), 2u);
  EXPECT_FALSE(s->find_task_by_file("/etc/c.yaml").value().has_value());
  EXPECT_EQ(s->get_task("nope").status().code(), common::kNoSuchKey);
}

TEST_F(StateStoreTest, StateTransitionsArePersisted) {
  std::string id;
  {
    auto s = open();
    id = s->register_task("/t.yaml", "t", "x").value().id;
    ASSERT_TRUE(s->set_task_state(id, TaskState::kPrechecking).ok());
    ASSERT_TRUE(s->set_task_state(id, TaskState::kPrecheckFailed, "2 items failed").ok());
  }
  auto s = open();
  auto t = s->get_task(id).value();
  EXPECT_EQ(t.state, TaskState::kPrecheckFailed);
  EXPECT_EQ(t.state_reason, "2 items failed");
  auto tr = s->transitions(id).value();
  ASSERT_EQ(tr.size(), 2u);
  EXPECT_EQ(tr[0].from, TaskState::kNotStarted);
  EXPECT_EQ(tr[0].to, TaskState::kPrechecking);
  EXPECT_EQ(tr[1].to, TaskState::kPrecheckFailed);
  EXPECT_EQ(s->set_task_state("nope", TaskState::kFailed).code(), common::kNoSuchKey);
}

TEST_F(StateStoreTest, PrecheckResultsAndIgnoredWarningsSurviveReopening) {
  std::string id;
  {
    auto s = open();
    id = s->register_task("/t.yaml", "t", "x").value().id;
    state::PrecheckRun run;
    run.task_id = id;
    run.started_at_ms = 1;
    run.finished_at_ms = 2;
    run.config_hash = "h";
    run.items = {{"source.connectivity", "Source reachable", "error", "passed", "ok", "", false},
                 {"destination.free_space", "Free space", "warning", "warning", "only 5 GB", "grow the disk", true}};
    ASSERT_TRUE(s->save_precheck(run).ok());
    ASSERT_TRUE(s->ignore_warning(id, "destination.free_space").ok());
    ASSERT_TRUE(s->ignore_warning(id, "destination.free_space").ok());  // idempotent
  }
  auto s = open();
  auto last = s->last_precheck(id).value();
  ASSERT_TRUE(last.has_value());
  ASSERT_EQ(last->items.size(), 2u);
  EXPECT_EQ(last->items[1].id, "destination.free_space");
  EXPECT_TRUE(last->items[1].ignored);
  EXPECT_EQ(last->items[1].fix, "grow the disk");
  EXPECT_EQ(s->ignored_warnings(id).value(), std::set<std::string>{"destination.free_space"});
  EXPECT_FALSE(s->last_precheck("other").value().has_value());
}

TEST_F(StateStoreTest, UpgradesAnOlderSchemaAndRefusesANewerOne) {
  std::vector<state::Migration> v2 = state::builtin_migrations();
  {
    auto s = open();
    ASSERT_TRUE(s->register_task("/t.yaml", "t", "x").ok());
  }
  v2.push_back({"a later phase's table", "CREATE TABLE partitions (task_id TEXT, n INTEGER);"});
  state::OpenOptions opts;
  opts.migrations = &v2;
  {
    auto s = StateStore::open(dir_, opts);
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ((*s)->schema_version(), static_cast<int>(v2.size()));
    EXPECT_EQ((*s)->list_tasks().value().size(), 1u);  // data kept
    EXPECT_TRUE((*s)->write_transaction([](sqlite3* db) {
                        return sqlite3_exec(db, "INSERT INTO partitions VALUES ('t', 1)", nullptr, nullptr, nullptr) == SQLITE_OK
                                   ? common::Status::OK()
                                   : common::Status(common::kInternalError, "insert");
                      }).ok());
  }
  // Reopening at the same version runs nothing again.
  ASSERT_TRUE(StateStore::open(dir_, opts).ok());
  auto older = StateStore::open(dir_);
  ASSERT_FALSE(older.ok());
  EXPECT_NE(older.status().message().find("newer than this mongoshift knows"), std::string::npos);
}

TEST_F(StateStoreTest, AFailedMigrationChangesNothing) {
  std::vector<state::Migration> bad = state::builtin_migrations();
  bad.push_back({"broken", "CREATE TABLE ok_part (a INTEGER); THIS IS NOT SQL;"});
  state::OpenOptions opts;
  opts.migrations = &bad;
  ASSERT_TRUE(open());
  auto s = StateStore::open(dir_, opts);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("migration " + std::to_string(bad.size()) + " (broken)"), std::string::npos) << s.status().message();
  auto good = open();
  ASSERT_TRUE(good);
  EXPECT_EQ(good->schema_version(), static_cast<int>(state::builtin_migrations().size()));
  // The half of the broken migration that ran was rolled back.
  EXPECT_NE(sqlite3_exec(good->db(), "SELECT * FROM ok_part", nullptr, nullptr, nullptr), SQLITE_OK);
}

TEST_F(StateStoreTest, ATaskIsRunByOneProcessAtATime) {
  auto s = open();
  auto t = s->register_task("/t.yaml", "orders", "x").value();
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    auto cs = StateStore::open(dir_);
    if (!cs.ok()) _exit(2);
    auto lock = (*cs)->lock_task(t);
    if (!lock.ok()) _exit(3);
    char c = 'x';
    if (write(ready[1], &c, 1) != 1) _exit(4);
    pause();  // hold the lock until killed
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  auto mine = s->lock_task(t);
  ASSERT_FALSE(mine.ok());
  EXPECT_EQ(mine.status().code(), common::kConflictingOperationInProgress);
  EXPECT_NE(mine.status().message().find("task orders (" + t.id + ") in state store " + dir_ + " is in use by pid " +
                                         std::to_string(child)),
            std::string::npos)
      << mine.status().message();
  kill(child, SIGKILL);
  int status;
  waitpid(child, &status, 0);
  close(ready[0]);
  // The dead process's lock is gone with it.
  EXPECT_TRUE(s->lock_task(t).ok());
}

TEST_F(StateStoreTest, ConcurrentWritersFromSeveralProcessesNeverCorrupt) {
  ASSERT_TRUE(open());
  constexpr int kProcs = 4, kWrites = 50;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto s = StateStore::open(dir_);
      if (!s.ok()) _exit(2);
      for (int i = 0; i < kWrites; ++i) {
        std::string file = "/p" + std::to_string(p) + "/t" + std::to_string(i) + ".yaml";
        auto t = (*s)->register_task(file, "", "x");
        if (!t.ok()) _exit(3);
        if (!(*s)->set_task_state(t->id, TaskState::kPrechecking).ok()) _exit(4);
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status = 0;
    waitpid(k, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer exit " << WEXITSTATUS(status);
  }
  auto s = open();
  EXPECT_EQ(s->list_tasks().value().size(), static_cast<size_t>(kProcs * kWrites));
  char** rows = nullptr;
  int nrow = 0, ncol = 0;
  ASSERT_EQ(sqlite3_get_table(s->db(), "PRAGMA integrity_check", &rows, &nrow, &ncol, nullptr), SQLITE_OK);
  ASSERT_EQ(nrow, 1);
  EXPECT_STREQ(rows[1], "ok");
  sqlite3_free_table(rows);
}

TEST(ContentHash, IsStableFnv) {
  EXPECT_EQ(state::content_hash(""), "cbf29ce484222325");
  EXPECT_NE(state::content_hash("a"), state::content_hash("b"));
}

}  // namespace
