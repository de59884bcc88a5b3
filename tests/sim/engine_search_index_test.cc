// Atlas Search index management on a mongod without a search host: absent before 7.0,
// refused with an error naming Atlas from 7.0 (115 for the commands, 6047401 for the stage),
// one SearchNotEnabled refusal (31082) on 8.0.
#include <gtest/gtest.h>

#include <string>

#include "sim/engine_harness.h"

namespace {

using simtest::EngineHarness;

struct Case {
  const char* version;
  int command_code;
  int stage_code;
};

class SearchIndexes : public ::testing::TestWithParam<Case> {};

TEST_P(SearchIndexes, CommandsAndStageFailAsThatVersion) {
  const Case& c = GetParam();
  EngineHarness h(simtest::options_with(false, c.version));
  ASSERT_TRUE(simtest::ok(h.run("db", R"({"create": "coll"})")));
  for (const char* cmd : {R"({"createSearchIndexes": "coll", "indexes": [{"definition": {"mappings": {"dynamic": true}}}]})",
                          R"({"updateSearchIndex": "coll", "name": "x", "definition": {}})",
                          R"({"dropSearchIndex": "coll", "name": "x"})"}) {
    common::Bson r = h.run("db", cmd);
    EXPECT_EQ(simtest::int_field(r, "code"), c.command_code) << c.version << " " << cmd << ": " << r.json();
    if (c.command_code != 59) {
      EXPECT_NE(r.json().find("Atlas"), std::string::npos) << r.json();
    }
  }
  common::Bson r = h.run("db", R"({"aggregate": "coll", "pipeline": [{"$listSearchIndexes": {}}], "cursor": {}})");
  EXPECT_EQ(simtest::int_field(r, "code"), c.stage_code) << c.version << ": " << r.json();
  if (c.stage_code != 40324) {
    EXPECT_NE(r.json().find("Atlas"), std::string::npos) << r.json();
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, SearchIndexes,
                         ::testing::Values(Case{"6.0", 59, 40324}, Case{"7.0", 115, 6047401}, Case{"8.0", 31082, 31082}));

}  // namespace
