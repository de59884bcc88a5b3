// Rendering of command results: aligned tables for a terminal, JSON for machines. Internal
// to the app module.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/connectivity.h"
#include "precheck/precheck.h"
#include "task/plan.h"
#include "task/task_file.h"

namespace app {

// A table whose columns are padded to their widest cell; the last column is not padded.
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

nlohmann::ordered_json plan_json(const task::TaskFile& task, const task::Plan& plan);
std::string plan_text(const task::TaskFile& task, const task::Plan& plan);

nlohmann::ordered_json connectivity_json(const client::ConnectivityReport& r);
std::string connectivity_text(const std::string& side, const std::string& endpoint, const client::ConnectivityReport& r);

nlohmann::ordered_json precheck_json(const precheck::Report& r);
std::string precheck_text(const precheck::Report& r);

std::string human_bytes(int64_t bytes);
std::string thousands(int64_t n);

}  // namespace app
