#include "apply/final_report.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "client/catalog.h"

namespace apply {

namespace {

common::Result<int64_t> count(client::Connection& c, const std::string& db, const std::string& coll,
                              const common::Bson* filter) {
  bson_t cmd = BSON_INITIALIZER;
  common::append_utf8(&cmd, "count", coll);
  if (filter) common::append_doc(&cmd, "query", filter->get());
  auto r = c.run(db, &cmd);
  bson_destroy(&cmd);
  if (!r.ok()) return r.status();
  bson_iter_t it;
  return bson_iter_init_find(&it, r->get(), "n") ? bson_iter_as_int64(&it) : int64_t{0};
}

}  // namespace

common::Result<std::map<std::string, CollectionCount>> count_collections(client::Connection& source,
                                                                         client::Connection& destination,
                                                                         const task::TaskOptions& options,
                                                                         const Mapper& mapper) {
  std::map<std::string, CollectionCount> out;
  MS_ASSIGN_OR_RETURN(auto dbs, client::list_databases(source));
  for (const auto& db : dbs) {
    if (task::is_system_database(db.name) || !task::database_selected(options, db.name)) continue;
    MS_ASSIGN_OR_RETURN(auto colls, client::list_collections(source, db.name));
    for (const auto& c : colls) {
      if (c.is_view() || !mapper.selected(c.db, c.name)) continue;
      task::Namespace t = mapper.target(c.db, c.name);
      auto f = options.objects.filter.find(c.full_name());
      CollectionCount& cc = out[t.full()];
      MS_ASSIGN_OR_RETURN(int64_t s, count(source, c.db, c.name, f == options.objects.filter.end() ? nullptr : &f->second));
      MS_ASSIGN_OR_RETURN(int64_t d, count(destination, t.db, t.coll, nullptr));
      cc.source = std::max<int64_t>(cc.source, 0) + s;  // merged sources add up
      cc.destination = d;
    }
  }
  return out;
}

common::Result<std::string> write_final_report(const std::string& state_dir, const std::string& task_id,
                                               const std::string& method, const IncrementalOutcome& outcome) {
  nlohmann::json j;
  j["task_id"] = task_id;
  j["method"] = method;
  j["finished_at_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  j["last_applied_optime"] = {{"t", outcome.last_applied_t}, {"i", outcome.last_applied_i}};
  nlohmann::json colls = nlohmann::json::object();
  bool equal = true;
  for (const auto& [ns, c] : outcome.counts) {
    colls[ns] = {{"source", c.source}, {"destination", c.destination}};
    equal = equal && c.source == c.destination;
  }
  j["collections"] = colls;
  j["counts_equal"] = equal;
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(state_dir) / "reports";
  std::filesystem::create_directories(dir, ec);
  std::filesystem::path file = dir / (task_id + "-final.json");
  std::ofstream out(file);
  out << j.dump(2) << "\n";
  if (!out) return common::Status(common::kInternalError, "cannot write the final report " + file.string());
  return file.string();
}

}  // namespace apply
