// Runs the mongoshift binary as a user would: arguments, environment, working directory;
// stdout either a pipe (JSON output) or a pseudo-terminal (tables). Collects both streams
// and the exit status.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace apptest {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string mongoshift_binary() {
  if (const char* e = std::getenv("MONGOSHIFT_BIN"); e && *e) return e;
  // Tests and the tool share the build's bin/ directory.
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "mongoshift").string();
}

inline std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// `terminal`: stdout is a pseudo-terminal instead of a pipe.
inline RunResult run_mongoshift(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                                const std::string& cwd = "", bool terminal = false) {
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) return {};
  int master = -1;
  std::string slave_name;
  if (terminal) {
    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return {};
    slave_name = ptsname(master);
  }
  std::string bin = mongoshift_binary();
  pid_t pid = fork();
  if (pid == 0) {
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    if (terminal) {
      int slave = open(slave_name.c_str(), O_RDWR);
      dup2(slave, STDOUT_FILENO);
      close(slave);
      close(master);
    } else {
      dup2(out_pipe[1], STDOUT_FILENO);
    }
    dup2(err_pipe[1], STDERR_FILENO);
    close(out_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[0]);
    close(err_pipe[1]);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv{const_cast<char*>(bin.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  RunResult r;
  if (terminal) {
    close(out_pipe[0]);
    // Read the terminal until the child exits (EIO once the slave side is closed).
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(master, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    r.out = out;
    close(master);
  } else {
    r.out = read_all(out_pipe[0]);
    close(out_pipe[0]);
  }
  r.err = read_all(err_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace apptest
