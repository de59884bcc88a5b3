// stop and resume: the cut-over request (`mongoshift stop`, carried out by the running task's
// incremental phase) and resuming a paused task (`mongoshift resume`, which runs it again from
// its checkpoints).
#pragma once

#include <string>

#include "app/io.h"

namespace app {

int cmd_stop(const std::string& path, const std::string& state_dir, Io& io);
int cmd_resume(const std::string& path, const std::string& state_dir, bool terminal, Io& io);

}  // namespace app
