// The task file: YAML (or JSON, which YAML contains) parsed into TaskOptions and validated.
// Every error names the file, the line and the field ("task.yaml:12: retry.other_minutes: 0
// is out of range 1..1440"); unknown fields, wrong types, out-of-range values, bad URIs and
// system databases are all errors. The field table here is the one docs/configuration.md
// documents.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "task/options.h"

namespace task {

// A loaded task: its options and where each field was written. Field paths are dotted, with
// list positions in brackets: "retry.other_minutes", "objects.include[2]", "mapping.rules[0]".
struct TaskFile {
  std::string path;  // as given by the user
  TaskOptions options;
  std::map<std::string, int> lines;  // field path → 1-based line

  // "task.yaml:12: field" (just "task.yaml: field" when the field was not written).
  std::string where(std::string_view field) const;
};

// Parses and validates. On failure the Status (kBadValue) holds one line per error, each
// "FILE:LINE: FIELD: what is wrong", in file order.
common::Result<TaskFile> load_task_file(const std::string& path);
common::Result<TaskFile> parse_task(std::string_view text, const std::string& display_name);

// One documented field: its path, its type as written in docs/configuration.md, and its
// default value as rendered by render_field().
struct FieldInfo {
  std::string path;
  std::string type;
  std::string default_value;
};
const std::vector<FieldInfo>& task_fields();
// The value of the field `path` in `options`, rendered as defaults are documented; empty for
// an unknown path.
std::string render_field(const TaskOptions& options, std::string_view path);

}  // namespace task
