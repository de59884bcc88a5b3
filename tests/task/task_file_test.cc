#include "task/task_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "support/mongosim_process.h"

namespace {

using task::parse_task;

const char* kMinimal = R"(source:
  uri: mongodb://src.example:27017/?replicaSet=rs0
destination:
  uri: mongodb://dst.example:27017/?replicaSet=rs1
)";

std::string with(const std::string& extra) { return std::string(kMinimal) + extra; }

std::string error_of(const std::string& yaml) {
  auto r = parse_task(yaml, "task.yaml");
  EXPECT_FALSE(r.ok()) << yaml;
  return r.ok() ? "" : r.status().message();
}

TEST(TaskFile, MinimalTaskTakesEveryDefault) {
  auto r = parse_task(kMinimal, "task.yaml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const task::TaskOptions& o = r->options;
  EXPECT_TRUE(o.has(task::MigrationType::kSchema));
  EXPECT_TRUE(o.has(task::MigrationType::kFull));
  EXPECT_TRUE(o.has(task::MigrationType::kIncremental));
  EXPECT_EQ(o.retry.connection_minutes, 720);
  EXPECT_EQ(o.retry.other_minutes, 10);
  EXPECT_EQ(o.conflict_mode, task::ConflictMode::kPrecheckAndReport);
  EXPECT_EQ(o.capitalization, task::Capitalization::kSource);
  EXPECT_EQ(o.incremental.method, task::IncrementalMethod::kAuto);
  EXPECT_EQ(o.copy.index_build, task::IndexBuild::kAfterCopy);
  EXPECT_TRUE(o.objects.include.empty());
  EXPECT_EQ(r->lines.at("destination.uri"), 4);
}

TEST(TaskFile, OutOfRangeNamesFieldAndLine) {
  std::string msg = error_of(with("retry:\n  connection_minutes: 30\n  other_minutes: 0\n"));
  EXPECT_EQ(msg, "task.yaml:7: retry.other_minutes: 0 is out of range 1..1440");
}

TEST(TaskFile, ConnectionRetryRange) {
  EXPECT_EQ(error_of(with("retry:\n  connection_minutes: 5\n")),
            "task.yaml:6: retry.connection_minutes: 5 is out of range 10..1440");
  EXPECT_EQ(error_of(with("retry:\n  connection_minutes: 1441\n")),
            "task.yaml:6: retry.connection_minutes: 1441 is out of range 10..1440");
}

TEST(TaskFile, OtherRetryMustBeLessThanConnectionRetry) {
  EXPECT_EQ(error_of(with("retry:\n  connection_minutes: 30\n  other_minutes: 30\n")),
            "task.yaml:7: retry.other_minutes: 30 must be less than retry.connection_minutes (30)");
}

TEST(TaskFile, UnknownFieldSuggestsTheKnownOne) {
  EXPECT_EQ(error_of(with("retry:\n  other_minute: 5\n")),
            "task.yaml:6: retry.other_minute: unknown field (did you mean 'retry.other_minutes'?)");
  EXPECT_EQ(error_of(with("colour: red\n")), "task.yaml:5: colour: unknown field");
}

TEST(TaskFile, WrongTypesAreNamed) {
  EXPECT_EQ(error_of(with("retry:\n  other_minutes: soon\n")),
            "task.yaml:6: retry.other_minutes: expected an integer, got 'soon'");
  EXPECT_EQ(error_of(with("mapping:\n  allow_merge: maybe\n")),
            "task.yaml:6: mapping.allow_merge: expected true or false, got 'maybe'");
  EXPECT_EQ(error_of(with("objects:\n  include: sales\n")),
            "task.yaml:6: objects.include: expected a list, got 'sales'");
  EXPECT_EQ(error_of(with("conflict_mode: overwrite\n")),
            "task.yaml:5: conflict_mode: 'overwrite' is not one of precheck_and_report, ignore_and_proceed");
  // A quoted number is a string, not an integer.
  EXPECT_EQ(error_of(with("retry:\n  other_minutes: \"5\"\n")),
            "task.yaml:6: retry.other_minutes: expected an integer, got '5'");
}

TEST(TaskFile, EveryErrorIsReportedInFileOrder) {
  std::string msg = error_of(with("retry:\n  other_minutes: 0\ncapitalization: shouting\nbogus: 1\n"));
  EXPECT_EQ(msg,
            "task.yaml:6: retry.other_minutes: 0 is out of range 1..1440\n"
            "task.yaml:7: capitalization: 'shouting' is not one of source, dts_default, lower, upper\n"
            "task.yaml:8: bogus: unknown field");
}

TEST(TaskFile, DuplicateFieldIsAnError) {
  EXPECT_EQ(error_of(with("name: a\nname: b\n")), "task.yaml:6: name: duplicate field");
}

TEST(TaskFile, InvalidYamlNamesTheLine) {
  auto r = parse_task("source:\n  uri: [unclosed\n", "t.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("t.yaml:", 0), 0u);
  EXPECT_NE(r.status().message().find("not valid YAML"), std::string::npos);
}

TEST(TaskFile, MissingEndpointsAreErrors) {
  std::string msg = error_of("name: x\n");
  EXPECT_NE(msg.find("task.yaml: source: missing: give source.uri or source.host"), std::string::npos) << msg;
  EXPECT_NE(msg.find("task.yaml: destination: missing"), std::string::npos) << msg;
}

TEST(TaskFile, BadUrisAreRejectedByLibmongoc) {
  std::string msg = error_of("source:\n  uri: http://x\ndestination:\n  uri: mongodb://d\n");
  EXPECT_EQ(msg.rfind("task.yaml:2: source.uri: invalid MongoDB URI: ", 0), 0u) << msg;
  msg = error_of("source:\n  uri: mongodb://s/?tls=maybe\ndestination:\n  uri: mongodb://d\n");
  EXPECT_EQ(msg.rfind("task.yaml:2: source.uri: invalid MongoDB URI", 0), 0u) << msg;
}

TEST(TaskFile, SrvAndTlsUrisAreAccepted) {
  auto r = parse_task(
      "source:\n  uri: mongodb+srv://cluster0.example.net/?authSource=admin\n  user: alice\n"
      "destination:\n  uri: mongodb://d1:27017,d2:27017/?replicaSet=rs&tls=true&tlsAllowInvalidHostnames=true\n",
      "t.yaml");
  EXPECT_TRUE(r.ok()) << r.status().message();
}

TEST(TaskFile, InlinePasswordsAreRefusedAndNeverEchoed) {
  std::string msg = error_of("source:\n  uri: mongodb://alice:s3cr3t-pw@s/\ndestination:\n  uri: mongodb://d\n");
  EXPECT_NE(msg.find("source.uri: the URI holds a password"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("s3cr3t-pw"), std::string::npos) << msg;
}

TEST(TaskFile, PasswordSourcesAreChecked) {
  unsetenv("MS_TEST_UNSET_PW");
  std::string msg = error_of(
      "source:\n  host: s\n  user: u\n  password_env: MS_TEST_UNSET_PW\ndestination:\n  uri: mongodb://d\n");
  EXPECT_EQ(msg, "task.yaml:4: source.password_env: environment variable MS_TEST_UNSET_PW is not set");
  msg = error_of("source:\n  host: s\n  user: u\n  password_file: /nonexistent/pw\ndestination:\n  uri: mongodb://d\n");
  EXPECT_EQ(msg.rfind("task.yaml:4: source.password_file: cannot read /nonexistent/pw", 0), 0u) << msg;
  setenv("MS_TEST_PW", "pw", 1);
  msg = error_of("source:\n  host: s\n  password_env: MS_TEST_PW\ndestination:\n  uri: mongodb://d\n");
  EXPECT_EQ(msg, "task.yaml:3: source.password_env: a password is given but no source.user");
}

TEST(TaskFile, HostFormAndUriFormDoNotMix) {
  std::string msg = error_of("source:\n  uri: mongodb://s\n  port: 27018\ndestination:\n  uri: mongodb://d\n");
  EXPECT_EQ(msg, "task.yaml:3: source.port: set it in source.uri instead (port is for the host form)");
  msg = error_of("source:\n  uri: mongodb://s\n  host: s\ndestination:\n  uri: mongodb://d\n");
  EXPECT_EQ(msg, "task.yaml:3: source.host: give either source.uri or source.host, not both");
}

TEST(TaskFile, SystemDatabasesCannotBeSelected) {
  for (const char* db : {"admin", "local", "config", "local.oplog.rs"}) {
    std::string msg = error_of(with(std::string("objects:\n  include:\n    - sales\n    - ") + db + "\n"));
    EXPECT_NE(msg.find("task.yaml:8: objects.include[1]: "), std::string::npos) << msg;
    EXPECT_NE(msg.find("is a system database and cannot be migrated"), std::string::npos) << msg;
  }
  EXPECT_NE(error_of(with("objects:\n  include: [sales.system.views]\n")).find("system collection"), std::string::npos);
}

TEST(TaskFile, FiltersAreParsedByTheQueryMatcher) {
  auto r = parse_task(with("objects:\n  filter:\n    sales.orders: {status: {$in: [A, B]}, qty: {$gt: 5}}\n"
                           "    sales.items: '{\"_id\": {\"$gte\": {\"$oid\": \"650000000000000000000000\"}}}'\n"),
                      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->options.objects.filter.at("sales.orders").json(), R"({ "status" : { "$in" : [ "A", "B" ] }, "qty" : { "$gt" : 5 } })");
  EXPECT_EQ(error_of(with("objects:\n  filter:\n    sales.orders: {qty: {$bogus: 1}}\n")),
            "task.yaml:7: objects.filter[sales.orders]: invalid filter: unknown operator: $bogus");
  EXPECT_EQ(error_of(with("objects:\n  filter:\n    sales: {a: 1}\n")),
            "task.yaml:7: objects.filter[sales]: a filter applies to one collection: write it as db.collection");
}

TEST(TaskFile, MappingRulesAreValidated) {
  EXPECT_EQ(error_of(with("mapping:\n  rules:\n    - objects: 'app.*'\n      regex: '(unclosed'\n")),
            "task.yaml:8: mapping.rules[0].regex: invalid regex '(unclosed' at offset 9: missing closing parenthesis");
  std::string msg = error_of(with("mapping:\n  rules:\n    - regex: '^(a)'\n      replacement: '$2'\n"));
  EXPECT_EQ(msg.rfind("task.yaml:7: mapping.rules[0].regex: invalid replacement '$2'", 0), 0u) << msg;
  EXPECT_EQ(error_of(with("mapping:\n  rules:\n    - objects: 'a.*'\n      on: database\n      prefix: x_\n")),
            "task.yaml:7: mapping.rules[0].objects: a database rule selects databases: write 'a', without a collection part");
  EXPECT_EQ(error_of(with("mapping:\n  rules:\n    - objects: 'a'\n")),
            "task.yaml:7: mapping.rules[0]: a rule needs prefix, suffix or regex");
  EXPECT_EQ(error_of(with("mapping:\n  rename:\n    - from: a\n      to: b.c\n")),
            "task.yaml:7: mapping.rename[0]: a rename maps a database to a database or db.collection to db.collection ('a' → 'b.c')");
  EXPECT_EQ(error_of(with("mapping:\n  rename:\n    - from: a.c\n      to: admin.c\n")),
            "task.yaml:8: mapping.rename[0].to: 'admin' is a system database");
}

TEST(TaskFile, EtlIsValidated) {
  auto r = parse_task(with("etl:\n  - objects: 'sales.*'\n    filter: {deleted: {$ne: true}}\n    set: {migrated: true}\n"
                           "    unset: [tmp]\n    rename: {old: new}\n    compute: {total: {$add: ['$a', '$b']}}\n"),
                      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->options.etl.size(), 1u);
  EXPECT_EQ(r->options.etl[0].rename.at("old"), "new");
  EXPECT_EQ(error_of(with("etl:\n  - unset: [_id]\n")),
            "task.yaml:6: etl[0].unset[0]: '_id': _id cannot be changed by a transform (documents are matched by _id)");
  std::string msg = error_of(with("etl:\n  - compute: {x: {$nosuch: 1}}\n"));
  EXPECT_EQ(msg.rfind("task.yaml:6: etl[0].compute: invalid expression for 'x': ", 0), 0u) << msg;
}

TEST(TaskFile, MigrationTypes) {
  auto r = parse_task(with("migration_types: [schema, full]\n"), "t.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->options.has(task::MigrationType::kIncremental));
  EXPECT_EQ(error_of(with("migration_types: [full, full]\n")), "task.yaml:5: migration_types: full is listed twice");
  EXPECT_EQ(error_of(with("migration_types: []\n")), "task.yaml:5: migration_types: select at least one migration type");
}

TEST(TaskFile, LoadsFromDiskAndNamesTheFile) {
  std::string dir = testsupport::make_temp_dir("taskfile");
  std::string path = dir + "/my.yaml";
  std::ofstream(path) << with("verify:\n  timeout_hours: 100\n");
  auto r = task::load_task_file(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), path + ":6: verify.timeout_hours: 100 is out of range 1..72");
  auto missing = task::load_task_file(dir + "/none.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot read the task file"), std::string::npos);
}

TEST(TaskFile, WhereNamesFileLineAndField) {
  auto r = parse_task(with("objects:\n  include: [a, b]\n"), "t.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->where("objects.include[1]"), "t.yaml:6: objects.include[1]");
  EXPECT_EQ(r->where("mapping"), "t.yaml: mapping");
}

}  // namespace
