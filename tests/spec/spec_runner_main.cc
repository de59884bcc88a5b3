// spec_runner: runs one folder of MongoDB unified-format spec tests against mongosim (started
// here) or MONGOSHIFT_TEST_URI, prints per-file results and "N passed, N failed, N skipped".
// Modes: pass (tests must pass unless listed in the skip file), fail (valid-fail: every test
// must be reported as failing), invalid (every file must be rejected by the loader).
#include <mongoc/mongoc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bson_util.h"
#include "runner.h"
#include "schema_check.h"
#include "skips.h"
#include "support/mongosim_process.h"

namespace fs = std::filesystem;

namespace {

struct Options {
  std::string suite;  // relative to the spec-tests root, e.g. "crud/unified"
  std::string mode = "pass";
  std::string skips;
  std::string server_version = "7.0";
  std::string uri;
  std::string spec_root;
  std::string filter_file;
  std::string filter_test;
  bool quiet = false;
};

std::string default_spec_root() {
  if (const char* e = std::getenv("MONGOSHIFT_SPEC_TESTS"); e && *e) return e;
  return std::string(MONGOSHIFT_SOURCE_DIR) + "/../shared/spec-tests";
}

int usage() {
  std::cerr << "usage: spec_runner --suite DIR [--mode pass|fail|invalid] [--skips FILE] [--server-version V]\n"
               "                   [--uri URI] [--spec-root DIR] [--file SUBSTR] [--test SUBSTR] [--quiet]\n";
  return 2;
}

// A running target: either an external URI or a mongosim process we own.
struct Target {
  std::optional<testsupport::MongosimProcess> proc;
  std::string uri;
  std::unique_ptr<spec::Runner> runner;
};

std::string start_target(const Options& o, Target* t) {
  t->runner.reset();
  t->proc.reset();
  std::string uri = o.uri;
  if (uri.empty()) uri = testsupport::external_uri();
  if (uri.empty()) {
    auto p = testsupport::MongosimProcess::start({"--server-version", o.server_version, "--enable-test-commands"});
    if (!p.ok()) return "cannot start mongosim: " + p.status().message();
    t->proc.emplace(std::move(p).value());
    uri = t->proc->uri();
  }
  t->uri = uri;
  t->runner = std::make_unique<spec::Runner>(uri);
  return t->runner->connect();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.spec_root = default_spec_root();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--suite") o.suite = next();
    else if (a == "--mode") o.mode = next();
    else if (a == "--skips") o.skips = next();
    else if (a == "--server-version") o.server_version = next();
    else if (a == "--uri") o.uri = next();
    else if (a == "--spec-root") o.spec_root = next();
    else if (a == "--file") o.filter_file = next();
    else if (a == "--test") o.filter_test = next();
    else if (a == "--quiet") o.quiet = true;
    else return usage();
  }
  if (o.suite.empty() || (o.mode != "pass" && o.mode != "fail" && o.mode != "invalid")) return usage();

  fs::path dir = fs::path(o.spec_root) / o.suite;
  if (!fs::is_directory(dir)) {
    std::cout << "SKIPPED suite " << o.suite << ": spec tests not found at " << dir.string()
              << " (set MONGOSHIFT_SPEC_TESTS)\n0 passed, 0 failed, 0 skipped\n";
    return 77;  // registered as SKIP_RETURN_CODE
  }
  spec::SkipList skips;
  if (!o.skips.empty()) {
    std::string err;
    if (!skips.load(o.skips, &err)) {
      std::cerr << "cannot read skip file: " << err << "\n";
      return 2;
    }
  }
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());

  mongoc_init();
  mongoc_log_set_handler([](mongoc_log_level_t level, const char* domain, const char* msg, void*) {
    if (level <= MONGOC_LOG_LEVEL_ERROR) std::fprintf(stderr, "[libmongoc %s] %s\n", domain, msg);
  }, nullptr);

  Target target;
  if (o.mode != "invalid") {
    if (std::string m = start_target(o, &target); !m.empty()) {
      std::cout << "cannot reach the server: " << m << "\n0 passed, 1 failed, 0 skipped\n";
      return 1;
    }
    std::cout << "server " << target.runner->server().version << " (" << target.runner->server().topology << ") at "
              << target.uri << "\n";
  }

  int passed = 0, failed = 0, skipped = 0, unexpected = 0, skip_listed = 0, not_applicable = 0;
  std::vector<std::string> warnings;
  for (auto& f : files) {
    std::string rel = o.suite + "/" + f.filename().string();
    if (!o.filter_file.empty() && rel.find(o.filter_file) == std::string::npos) continue;
    std::string err;
    auto doc = spec::load_json_file(f.string(), &err);

    if (o.mode == "invalid") {
      // The whole file is one test: it must be rejected.
      std::string why;
      if (!doc) {
        why = "not Extended JSON: " + err;
      } else {
        auto problems = spec::validate_test_file(doc->get());
        if (!problems.empty()) {
          why = "structure: " + problems.front();
        } else {
          auto sv = spec::get_str(doc->get(), "schemaVersion").value_or("");
          if (sv.rfind("1.", 0) != 0 || spec::compare_versions(sv, "1.23") > 0)
            why = "schemaVersion " + sv + " unsupported";
        }
      }
      auto listed = skips.find(rel, "*");
      if (!why.empty()) {
        ++passed;  // rejecting an invalid file is this suite's pass
        if (!o.quiet) std::cout << "[REJECTED] " << rel << ": " << why << "\n";
        if (listed) warnings.push_back(rel + " is listed in the skip file but is now rejected");
      } else if (listed) {
        ++skipped;
        ++skip_listed;
        std::cout << "[ACCEPTED] " << rel << " (listed: " << *listed << ")\n";
      } else {
        ++failed;
        ++unexpected;
        std::cout << "[ACCEPTED] " << rel << ": NOT rejected and not in the skip file\n";
      }
      continue;
    }

    if (!doc) {
      ++failed;
      ++unexpected;
      std::cout << "[FAIL] " << rel << ": cannot parse: " << err << "\n";
      continue;
    }
    if (!target.runner->ping()) {
      std::cout << "server not answering before " << rel << "; restarting it\n";
      if (target.proc) std::cout << "mongosim log tail:\n" << target.proc->log().substr(target.proc->log().size() > 4000 ? target.proc->log().size() - 4000 : 0) << "\n";
      if (std::string m = start_target(o, &target); !m.empty()) {
        std::cout << "cannot restart the server: " << m << "\n";
        ++failed;
        ++unexpected;
        break;
      }
    }
    target.runner->reset_server();
    spec::FileOutcome fo = target.runner->run_file(*doc, o.filter_test);
    if (!fo.load_error.empty()) {
      // A file the runner refuses: every test in it counts as failed.
      auto tests = spec::get_doc(doc->get(), "tests");
      std::vector<std::string> descs;
      if (tests) {
        bson_iter_t it;
        bson_iter_init(&it, tests->get());
        while (bson_iter_next(&it)) {
          spec::Doc t = spec::iter_doc(&it);
          descs.push_back(spec::get_str(t.get(), "description").value_or("?"));
        }
      }
      if (descs.empty()) descs.push_back("*");
      for (auto& d : descs) {
        spec::TestOutcome t;
        t.description = d;
        t.kind = spec::TestOutcome::kFail;
        t.reason = fo.load_error;
        fo.tests.push_back(t);
      }
    }
    int fp = 0, ff = 0, fs_ = 0;
    std::vector<std::string> lines;
    for (auto& t : fo.tests) {
      auto listed = skips.find(rel, t.description);
      if (o.mode == "fail") {
        // valid-fail: failing is the expected outcome.
        if (t.kind == spec::TestOutcome::kFail) {
          ++ff;
          lines.push_back("  failed as expected: " + t.description + ": " + t.reason);
        } else if (t.kind == spec::TestOutcome::kSkip || listed) {
          ++fs_;
          lines.push_back("  SKIP " + t.description + ": " + (listed ? *listed : t.reason));
          if (listed) ++skip_listed;
          else ++not_applicable;
        } else {
          ++fp;
          ++unexpected;
          lines.push_back("  UNEXPECTED PASS " + t.description);
        }
        continue;
      }
      if (t.kind == spec::TestOutcome::kSkip) {
        ++fs_;
        ++not_applicable;
        if (!o.quiet) lines.push_back("  SKIP " + t.description + ": " + t.reason);
      } else if (listed) {
        ++fs_;
        ++skip_listed;
        if (t.kind == spec::TestOutcome::kPass) {
          warnings.push_back(rel + ":" + t.description + " is in the skip file but passed");
          lines.push_back("  SKIP (listed, but PASSED) " + t.description);
        } else {
          lines.push_back("  SKIP (listed: " + *listed + ") " + t.description + ": " + t.reason);
        }
      } else if (t.kind == spec::TestOutcome::kPass) {
        ++fp;
      } else {
        ++ff;
        ++unexpected;
        lines.push_back("  FAIL " + t.description + ": " + t.reason);
      }
    }
    passed += fp;
    failed += ff;
    skipped += fs_;
    const char* tag = o.mode == "fail" ? (fp ? "[UNEXPECTED PASS]" : "[OK]") : (ff ? "[FAIL]" : fp ? "[PASS]" : "[SKIP]");
    std::cout << tag << " " << rel << ": " << fp << " passed, " << ff << " failed, " << fs_ << " skipped\n";
    for (auto& l : lines) std::cout << l << "\n";
  }
  for (auto& w : warnings) std::cout << "WARNING: " << w << "\n";
  std::cout << "details: " << not_applicable << " skipped by runOnRequirements/skipReason, " << skip_listed
            << " listed in the skip file";
  if (o.mode == "fail") std::cout << "; " << failed << " reported as failing (expected), " << unexpected << " unexpectedly passed";
  if (o.mode == "invalid") std::cout << "; " << passed << " files rejected, " << skip_listed << " accepted (listed), " << unexpected << " accepted (unlisted)";
  std::cout << "\n" << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
  target.runner.reset();
  target.proc.reset();
  mongoc_cleanup();
  return unexpected ? 1 : 0;
}
