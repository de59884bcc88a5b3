// docs/configuration.md documents every task-file field with its type and default; this test
// keeps the document, the parser's field table and TaskOptions' defaults the same.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "task/task_file.h"

namespace {

std::string doc_path() {
  return (std::filesystem::path(MONGOSHIFT_SOURCE_DIR) / "docs" / "configuration.md").string();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '`')) s.erase(s.begin());
  while (!s.empty() && (s.back() == ' ' || s.back() == '`')) s.pop_back();
  return s;
}

// Rows of the reference tables: | `field` | type | `default` | meaning |
std::map<std::string, std::pair<std::string, std::string>> documented_fields() {
  std::ifstream in(doc_path());
  std::map<std::string, std::pair<std::string, std::string>> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    std::string cell;
    while (std::getline(ss, cell, '|')) cells.push_back(trim(cell));
    if (cells.size() < 4) continue;
    out[cells[0]] = {cells[1], cells[2]};
  }
  return out;
}

TEST(ConfigurationDoc, DocumentsEveryFieldWithItsTypeAndDefault) {
  auto doc = documented_fields();
  ASSERT_FALSE(doc.empty()) << "no field table found in " << doc_path();
  std::string expected;
  for (const task::FieldInfo& f : task::task_fields()) {
    expected += "| `" + f.path + "` | " + f.type + " | `" + f.default_value + "` |\n";
    auto it = doc.find(f.path);
    if (it == doc.end()) {
      ADD_FAILURE() << f.path << " is not documented in docs/configuration.md";
      continue;
    }
    EXPECT_EQ(it->second.first, f.type) << "type of " << f.path;
    EXPECT_EQ(it->second.second, f.default_value) << "default of " << f.path;
  }
  for (const auto& [path, td] : doc) {
    bool known = false;
    for (const auto& f : task::task_fields()) known = known || f.path == path;
    EXPECT_TRUE(known) << path << " is documented but is not a task-file field";
  }
  if (HasFailure()) std::cout << "The parser's fields:\n" << expected;
}

TEST(ConfigurationDoc, DefaultsAreTheDefaultsOfTaskOptions) {
  task::TaskOptions defaults;
  for (const task::FieldInfo& f : task::task_fields()) {
    if (f.path.find("[]") != std::string::npos) continue;  // list items have no TaskOptions default
    EXPECT_EQ(task::render_field(defaults, f.path), f.default_value) << f.path;
  }
}

TEST(ConfigurationDoc, TheExampleTaskFileIsValid) {
  // The document's first ```yaml block is a complete task file.
  std::ifstream in(doc_path());
  std::string line, yaml;
  bool inside = false, done = false;
  while (!done && std::getline(in, line)) {
    if (!inside && line == "```yaml") {
      inside = true;
    } else if (inside && line == "```") {
      done = true;
    } else if (inside) {
      yaml += line + "\n";
    }
  }
  ASSERT_TRUE(done) << "no ```yaml example in " << doc_path();
  setenv("SRC_PASSWORD", "example", 1);
  setenv("DST_PASSWORD", "example", 1);
  auto r = task::parse_task(yaml, "configuration.md example");
  EXPECT_TRUE(r.ok()) << r.status().message();
}

}  // namespace
