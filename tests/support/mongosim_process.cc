// Launching and stopping mongosim processes for integration tests.
#include "support/mongosim_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace testsupport {

std::string mongosim_binary() {
  if (const char* e = std::getenv("MONGOSIM_BIN"); e && *e) return e;
  return MONGOSIM_BIN_DEFAULT;
}

std::string external_uri() {
  const char* e = std::getenv("MONGOSHIFT_TEST_URI");
  return e ? e : "";
}

std::string make_temp_dir(const std::string& prefix) {
  const char* t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t && *t ? t : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) return "";
  return buf.data();
}

common::Result<MongosimProcess> MongosimProcess::start(std::vector<std::string> args) {
  MongosimProcess p;
  p.tempdir_ = make_temp_dir("mongosim-test");
  if (p.tempdir_.empty()) return common::Status(common::kInternalError, "cannot create temp dir");
  bool has_port = false, has_dbpath = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--port") has_port = true;
    if (args[i] == "--dbpath") {
      has_dbpath = true;
      if (i + 1 < args.size()) p.dbpath_ = args[i + 1];
    }
    if (args[i] == "--standalone") p.standalone_ = true;
    if (args[i] == "--replset" && i + 1 < args.size()) p.replset_ = args[i + 1];
  }
  if (!has_port) {
    args.push_back("--port");
    args.push_back("0");
  }
  if (!has_dbpath) {
    p.dbpath_ = p.tempdir_ + "/db";
    std::filesystem::create_directories(p.dbpath_);
    args.push_back("--dbpath");
    args.push_back(p.dbpath_);
  }
  p.log_path_ = p.tempdir_ + "/mongosim.log";

  int out_pipe[2];
  if (pipe(out_pipe) != 0) return common::Status(common::kInternalError, "pipe failed");
  std::string bin = mongosim_binary();
  pid_t pid = fork();
  if (pid < 0) return common::Status(common::kInternalError, "fork failed");
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    int logfd = open(p.log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (logfd >= 0) dup2(logfd, STDERR_FILENO);
    close(out_pipe[0]);
    close(out_pipe[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  p.pid_ = pid;

  // Read the first line: "mongosim listening on HOST:PORT".
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  char c;
  while (std::chrono::steady_clock::now() < deadline) {
    ssize_t n = read(out_pipe[0], &c, 1);
    if (n <= 0) break;
    if (c == '\n') break;
    line.push_back(c);
  }
  close(out_pipe[0]);  // later stdout output goes nowhere (SIGPIPE is ignored by mongosim)
  const std::string prefix = "mongosim listening on ";
  if (line.rfind(prefix, 0) != 0) {
    std::string log = p.log();
    p.kill9();
    return common::Status(common::kInternalError,
                          "mongosim did not start (first line '" + line + "'); log: " + log);
  }
  p.host_port_ = line.substr(prefix.size());
  auto colon = p.host_port_.rfind(':');
  p.port_ = std::atoi(p.host_port_.c_str() + colon + 1);
  return p;
}

MongosimProcess::MongosimProcess(MongosimProcess&& o) noexcept
    : pid_(o.pid_), port_(o.port_), host_port_(std::move(o.host_port_)), dbpath_(std::move(o.dbpath_)),
      tempdir_(std::move(o.tempdir_)), log_path_(std::move(o.log_path_)), standalone_(o.standalone_),
      replset_(std::move(o.replset_)) {
  o.pid_ = -1;
  o.tempdir_.clear();
}

MongosimProcess::~MongosimProcess() {
  if (pid_ > 0) stop();
  if (!tempdir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(tempdir_, ec);
  }
}

std::string MongosimProcess::uri() const {
  if (standalone_) return "mongodb://" + host_port_ + "/?directConnection=true";
  return "mongodb://" + host_port_ + "/?replicaSet=" + replset_;
}

int MongosimProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill9();
  return -1;
}

void MongosimProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string MongosimProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace testsupport
