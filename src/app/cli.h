// The mongoshift command line: `plan`, `test-connection` and `precheck` (later phases add
// run, status, pause, resume, stop, verify, throttle and serve as they come to work). Exit
// status: 0 success, 1 failure or blocked, 2 bad input (a bad task file or flag), with one
// clear message. Output is a table on a terminal and JSON otherwise (or with --json).
#pragma once

#include <ostream>

namespace app {

enum ExitCode { kExitOk = 0, kExitFailed = 1, kExitBadInput = 2 };

// `terminal`: whether `out` is a terminal (tables) or not (JSON).
int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err, bool terminal);

}  // namespace app
