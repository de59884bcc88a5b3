#include "app/render.h"

#include <algorithm>
#include <cstdio>

#include "task/endpoint.h"

namespace app {

namespace {

// Display width of UTF-8 text (code points; the CLI prints no wide characters itself).
size_t width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

nlohmann::ordered_json bson_json(const common::Bson& b) {
  auto j = nlohmann::ordered_json::parse(b.json(), nullptr, false);
  return j.is_discarded() ? nlohmann::ordered_json(b.json()) : j;
}

}  // namespace

std::string human_bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string thousands(int64_t n) {
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return n < 0 ? "-" + s : s;
}

std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) w[i] = width(header[i]);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], width(r[i]));
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t i = 0; i < cells.size(); ++i) {
      l += cells[i];
      if (i + 1 < cells.size()) l += std::string(w[i] - width(cells[i]) + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

nlohmann::ordered_json plan_json(const task::TaskFile& t, const task::Plan& plan) {
  nlohmann::ordered_json j;
  j["task"] = {{"name", t.options.name}, {"file", t.path}};
  j["source"] = task::describe(t.options.source);
  j["destination"] = task::describe(t.options.destination);
  j["objects"] = nlohmann::ordered_json::array();
  for (const auto& o : plan.objects) {
    nlohmann::ordered_json e;
    e["source"] = o.source_ns().full();
    e["target"] = o.target.full();
    e["type"] = o.kind();
    e["documents"] = o.source.count ? nlohmann::ordered_json(*o.source.count) : nullptr;
    e["size_bytes"] = o.source.size ? nlohmann::ordered_json(*o.source.size) : nullptr;
    e["indexes"] = o.source.index_count ? nlohmann::ordered_json(*o.source.index_count) : nullptr;
    if (o.source.is_view()) e["view_on"] = o.target_view_on;
    if (o.filter) e["filter"] = bson_json(*o.filter);
    j["objects"].push_back(std::move(e));
  }
  j["total_size_bytes"] = plan.total_size();
  j["problems"] = nlohmann::ordered_json::array();
  for (const auto& p : plan.problems) {
    j["problems"].push_back({{"kind", p.kind == task::PlanProblem::Kind::kName ? "name" : "selection"},
                             {"field", p.field},
                             {"where", p.field.empty() ? t.path : t.where(p.field)},
                             {"message", p.message}});
  }
  return j;
}

std::string plan_text(const task::TaskFile& t, const task::Plan& plan) {
  std::string out = "source       " + task::describe(t.options.source) + "\n" + "destination  " +
                    task::describe(t.options.destination) + "\n\n";
  std::vector<std::vector<std::string>> rows;
  size_t views = 0;
  for (const auto& o : plan.objects) {
    views += o.source.is_view();
    std::string target = o.target.full();
    if (o.source.is_view()) target += " (on " + o.target_view_on + ")";
    rows.push_back({o.source_ns().full(), target, o.kind(), o.source.count ? thousands(*o.source.count) : "-",
                    o.source.size ? human_bytes(*o.source.size) : "-",
                    o.source.index_count ? std::to_string(*o.source.index_count) : "-", o.filter ? o.filter->json() : ""});
  }
  out += table({"SOURCE", "TARGET", "TYPE", "DOCUMENTS", "SIZE", "INDEXES", "FILTER"}, rows);
  auto count = [](size_t n, const std::string& what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); };
  out += "\n" + count(plan.objects.size(), "object") + " (" + count(plan.objects.size() - views, "collection") + ", " +
         count(views, "view") + ") in " + count(plan.databases.size(), "database") + ", " + human_bytes(plan.total_size()) +
         "\n";
  for (const auto& p : plan.problems) {
    out += "error: " + (p.field.empty() ? t.path : t.where(p.field)) + ": " + p.message + "\n";
  }
  return out;
}

nlohmann::ordered_json connectivity_json(const client::ConnectivityReport& r) {
  nlohmann::ordered_json j;
  j["uri"] = r.uri;
  j["ok"] = r.ok();
  j["failure"] = client::to_string(r.failure);
  if (!r.ok()) j["message"] = r.message;
  j["steps"] = nlohmann::ordered_json::array();
  for (const auto& s : r.steps) j["steps"].push_back({{"step", s.name}, {"status", client::to_string(s.status)}, {"detail", s.detail}});
  if (!r.server.version.empty()) {
    j["server"] = {{"version", r.server.version},
                   {"max_wire_version", r.server.max_wire_version},
                   {"topology", client::to_string(r.server.topology)},
                   {"set_name", r.server.set_name},
                   {"host", r.server.host},
                   {"members", r.server.members}};
  }
  if (r.privileges) {
    nlohmann::ordered_json p;
    p["access_control"] = !r.privileges->is_unrestricted();
    p["users"] = r.privileges->users();
    p["roles"] = r.privileges->roles();
    j["privileges"] = std::move(p);
  }
  return j;
}

std::string connectivity_text(const std::string& side, const std::string& endpoint, const client::ConnectivityReport& r) {
  std::string out = side + "  " + endpoint + "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : r.steps) rows.push_back({"  " + s.name, client::to_string(s.status), s.detail});
  std::string t = table({"  STEP", "STATUS", "DETAIL"}, rows);
  out += t;
  out += r.ok() ? "  ok\n" : "  FAILED: " + r.message + "\n";
  return out;
}

nlohmann::ordered_json precheck_json(const precheck::Report& r) {
  nlohmann::ordered_json j;
  j["passed"] = !r.blocked();
  j["items"] = nlohmann::ordered_json::array();
  for (const auto& i : r.items) {
    j["items"].push_back({{"id", i.id},
                          {"title", i.title},
                          {"level", precheck::to_string(i.level)},
                          {"status", precheck::to_string(i.status)},
                          {"ignored", i.ignored},
                          {"detail", i.detail},
                          {"fix", i.fix}});
  }
  return j;
}

std::string precheck_text(const precheck::Report& r) {
  int failed = 0, warnings = 0, ignored = 0;
  std::vector<std::vector<std::string>> rows;
  for (const auto& i : r.items) {
    failed += i.status == precheck::Status::kFailed;
    warnings += i.status == precheck::Status::kWarning && !i.ignored;
    ignored += i.ignored;
    std::string status = precheck::to_string(i.status);
    if (i.ignored) status += " (ignored)";
    rows.push_back({i.id, precheck::to_string(i.level), status, i.detail});
  }
  std::string out = table({"ITEM", "LEVEL", "STATUS", "DETAIL"}, rows);
  bool any_fix = false;
  int unchecked = 0;
  for (const auto& i : r.items) {
    if (i.status == precheck::Status::kPassed || i.ignored) continue;
    if (i.fix.empty()) {
      ++unchecked;
      continue;
    }
    if (!any_fix) out += "\nto fix:\n";
    any_fix = true;
    out += "  " + i.id + ": " + i.fix + "\n";
  }
  if (unchecked) {
    out += "  (" + std::to_string(unchecked) + " items could not be checked: fix the failures above, then run the "
           "precheck again)\n";
  }
  out += "\n";
  if (!r.blocked()) {
    out += "precheck passed (" + std::to_string(r.items.size()) + " items" +
           (ignored ? ", " + std::to_string(ignored) + " warnings ignored" : "") + ")\n";
  } else {
    out += "precheck blocked: " + std::to_string(failed) + " failed, " + std::to_string(warnings) +
           " warnings not ignored (ignore a warning with --ignore-warning ID)\n";
  }
  return out;
}

}  // namespace app
