// Every command the real engine, the admin layer and the test commands register has a row in
// the privilege table (src/sim/auth/command_privileges.cc), so --auth never meets a command it
// cannot judge.
#include <gtest/gtest.h>

#include "sim/auth/command_privileges.h"
#include "sim/faults_harness.h"

namespace {

TEST(AuthTable, EveryEngineAndTestCommandHasAPrivilegeRule) {
  simtest::FaultHarness h;
  size_t checked = 0;
  for (const sim::CommandDef* def : h.ctx.commands.all()) {
    // Aliases (collstats, dbstats, ...) are judged by their command's name.
    EXPECT_NE(sim::auth::find_command_rule(def->name), nullptr) << def->name;
    ++checked;
  }
  EXPECT_GT(checked, 50u);  // the engine's commands are there
  for (const char* name : {"commitTransaction", "abortTransaction", "endSessions", "killAllSessions", "getMore",
                           "killCursors", "aggregate", "mongosimControl", "configureFailPoint"}) {
    EXPECT_NE(sim::auth::find_command_rule(name), nullptr) << name;
  }
}

}  // namespace
