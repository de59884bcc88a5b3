#include "app/incr_commands.h"

#include "apply/incremental_store.h"

namespace app {

int cmd_stop(const std::string& path, const std::string& state_dir, Io& io) {
  Loaded l;
  if (int rc = load(path, io, &l)) return rc;
  auto store = state::StateStore::open(state_dir);
  if (!store.ok()) return io.fail(kExitFailed, store.status().message());
  auto rec = register_task(**store, path, l.task);
  if (!rec.ok()) return io.fail(kExitFailed, rec.status().message());
  if (rec->state == state::TaskState::kFinished) {
    io.print("task " + rec->name + " has already finished\n");
    return kExitOk;
  }
  if (auto st = apply::request_stop(**store, rec->id); !st.ok()) return io.fail(kExitFailed, st.message());
  io.print("task " + rec->name +
           ": cut-over requested. The running task waits until it is not delayed, then asks you to stop writes "
           "to the source; once the source is quiet and fully applied it finalizes (unique indexes, TTL values) "
           "and writes the final report. Follow it with: mongoshift status --task " + path + "\n");
  return kExitOk;
}

int cmd_resume(const std::string& path, const std::string& state_dir, bool terminal, Io& io) {
  // A paused task resumes by running again: every phase continues from its checkpoint (and
  // `run` clears the pause request).
  return cmd_run(path, state_dir, terminal, io);
}

}  // namespace app
