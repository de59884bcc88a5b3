// Replication status and state-change commands of a one-member set (replication_info.cpp,
// repl_set_commands.cpp, replication_coordinator_impl.cpp, topology_coordinator.cpp).
#include "sim/server/repl_commands.h"

#include <time.h>

#include <cstdlib>

#include <fmt/format.h>

#include "sim/engine/engine.h"
#include "sim/server/admin_commands.h"

namespace sim::server {

using common::Status;

namespace {

constexpr int kNoReplicationEnabled = 76;
constexpr int kExceededTimeLimit = 262;

Status no_replication() { return Status(kNoReplicationEnabled, "not running with --replSet"); }

void append_optime(bson_t* b, const char* key, Timestamp ts, int64_t term) {
  bson_t d;
  bson_append_document_begin(b, key, -1, &d);
  bson_append_timestamp(&d, "ts", -1, ts.t, ts.i);
  bson_append_int64(&d, "t", -1, term);
  bson_append_document_end(b, &d);
}

// The newest and oldest oplog entries, or the cluster time when there is no engine (the
// front-end tests).
struct OplogView {
  Timestamp first, last;
  int64_t last_wall_ms = 0;
  bool from_oplog = false;
};

OplogView oplog_view(ServerState& st) {
  OplogView v;
  engine::Engine::OplogBounds b;
  if (st.engine && st.engine->oplog_bounds(&b) && b.count > 0) {
    v.first = b.first;
    v.last = b.last;
    v.last_wall_ms = b.last_wall_ms;
    v.from_oplog = true;
    return v;
  }
  v.last = v.first = st.ctx.clock.now();
  v.last_wall_ms = static_cast<int64_t>(v.last.t) * 1000;
  return v;
}

// dateToISOStringLocal: "2024-01-12T05:32:30.123+01:00".
std::string iso_local(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  localtime_r(&secs, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  long off = tm.tm_gmtoff / 60;
  return fmt::format("{}.{:03}{}{:02}:{:02}", buf, ms % 1000, off < 0 ? '-' : '+', std::abs(off) / 60, std::abs(off) % 60);
}

// electionId: 0x7fffffff followed by the term as 8 big-endian bytes (§2.2).
bson_oid_t election_id(int64_t term) {
  bson_oid_t oid;
  oid.bytes[0] = 0x7f;
  oid.bytes[1] = oid.bytes[2] = oid.bytes[3] = 0xff;
  for (int i = 0; i < 8; ++i) oid.bytes[4 + i] = static_cast<uint8_t>(static_cast<uint64_t>(term) >> (56 - 8 * i));
  return oid;
}

Status run_repl_set_get_status(ServerState& st, bson_t* reply) {
  ServerContext& ctx = st.ctx;
  if (ctx.options.standalone) return no_replication();
  const int64_t now = now_ms();
  const ReplState::Snapshot m = st.repl.snapshot();
  const OplogView ov = oplog_view(st);
  const int64_t term = ctx.clock.term();
  const int state = m.primary ? 1 : 2;
  common::append_utf8(reply, "set", ctx.options.replset);
  bson_append_date_time(reply, "date", -1, now);
  bson_append_int32(reply, "myState", -1, state);
  bson_append_int64(reply, "term", -1, term);
  common::append_utf8(reply, "syncSourceHost", "");
  bson_append_int32(reply, "syncSourceId", -1, -1);
  bson_append_int64(reply, "heartbeatIntervalMillis", -1, 2000);
  bson_append_int32(reply, "majorityVoteCount", -1, 1);
  bson_append_int32(reply, "writeMajorityCount", -1, 1);
  bson_append_int32(reply, "votingMembersCount", -1, 1);
  bson_append_int32(reply, "writableVotingMembersCount", -1, 1);
  // One member: applied, durable and majority-committed are the newest entry.
  bson_t opt;
  bson_append_document_begin(reply, "optimes", -1, &opt);
  append_optime(&opt, "lastCommittedOpTime", ov.last, term);
  bson_append_date_time(&opt, "lastCommittedWallTime", -1, ov.last_wall_ms);
  append_optime(&opt, "readConcernMajorityOpTime", ov.last, term);
  append_optime(&opt, "appliedOpTime", ov.last, term);
  append_optime(&opt, "durableOpTime", ov.last, term);
  bson_append_date_time(&opt, "lastAppliedWallTime", -1, ov.last_wall_ms);
  bson_append_date_time(&opt, "lastDurableWallTime", -1, ov.last_wall_ms);
  bson_append_document_end(reply, &opt);
  if (ctx.options.version() >= 44) bson_append_timestamp(reply, "lastStableRecoveryTimestamp", -1, ov.last.t, ov.last.i);
  if (m.primary) {
    const ReplState::Election& e = m.election;
    bson_t ecm;
    bson_append_document_begin(reply, "electionCandidateMetrics", -1, &ecm);
    common::append_utf8(&ecm, "lastElectionReason", e.reason);
    bson_append_date_time(&ecm, "lastElectionDate", -1, e.date_ms);
    bson_append_int64(&ecm, "electionTerm", -1, e.term);
    append_optime(&ecm, "lastCommittedOpTimeAtElection", e.last_seen_ts, e.last_seen_term);
    append_optime(&ecm, "lastSeenOpTimeAtElection", e.last_seen_ts, e.last_seen_term);
    bson_append_int32(&ecm, "numVotesNeeded", -1, 1);
    bson_append_double(&ecm, "priorityAtElection", -1, 1.0);
    bson_append_int64(&ecm, "electionTimeoutMillis", -1, 10000);
    bson_append_date_time(&ecm, "newTermStartDate", -1, e.date_ms);
    bson_append_date_time(&ecm, "wMajorityWriteAvailabilityDate", -1, e.date_ms);
    bson_append_document_end(reply, &ecm);
  }
  bson_t members, mem;
  bson_append_array_begin(reply, "members", -1, &members);
  bson_append_document_begin(&members, "0", -1, &mem);
  bson_append_int32(&mem, "_id", -1, 0);
  common::append_utf8(&mem, "name", ctx.host_and_port);
  bson_append_double(&mem, "health", -1, 1.0);
  bson_append_int32(&mem, "state", -1, state);
  common::append_utf8(&mem, "stateStr", m.primary ? "PRIMARY" : "SECONDARY");
  bson_append_int32(&mem, "uptime", -1, static_cast<int32_t>((now - ctx.start_time_ms) / 1000));
  append_optime(&mem, "optime", ov.last, term);
  bson_append_date_time(&mem, "optimeDate", -1, static_cast<int64_t>(ov.last.t) * 1000);
  bson_append_date_time(&mem, "lastAppliedWallTime", -1, ov.last_wall_ms);
  bson_append_date_time(&mem, "lastDurableWallTime", -1, ov.last_wall_ms);
  common::append_utf8(&mem, "syncSourceHost", "");
  bson_append_int32(&mem, "syncSourceId", -1, -1);
  common::append_utf8(&mem, "infoMessage", "");
  if (m.primary) {
    bson_append_timestamp(&mem, "electionTime", -1, m.election.op_ts.t, m.election.op_ts.i);
    bson_append_date_time(&mem, "electionDate", -1, static_cast<int64_t>(m.election.op_ts.t) * 1000);
  }
  bson_append_int32(&mem, "configVersion", -1, 1);
  bson_append_int32(&mem, "configTerm", -1, static_cast<int32_t>(m.primary ? term : m.election.term));
  bson_append_bool(&mem, "self", -1, true);
  common::append_utf8(&mem, "lastHeartbeatMessage", "");
  bson_append_document_end(&members, &mem);
  bson_append_array_end(reply, &members);
  return Status::OK();
}

Status run_repl_set_get_config(ServerState& st, bson_t* reply) {
  ServerContext& ctx = st.ctx;
  if (ctx.options.standalone) return no_replication();
  bson_t cfg, members, m, tags, settings;
  bson_append_document_begin(reply, "config", -1, &cfg);
  common::append_utf8(&cfg, "_id", ctx.options.replset);
  bson_append_int32(&cfg, "version", -1, 1);
  bson_append_int32(&cfg, "term", -1, static_cast<int32_t>(ctx.clock.term()));
  bson_append_array_begin(&cfg, "members", -1, &members);
  bson_append_document_begin(&members, "0", -1, &m);
  bson_append_int32(&m, "_id", -1, 0);
  common::append_utf8(&m, "host", ctx.host_and_port);
  bson_append_bool(&m, "arbiterOnly", -1, false);
  bson_append_bool(&m, "buildIndexes", -1, true);
  bson_append_bool(&m, "hidden", -1, false);
  bson_append_double(&m, "priority", -1, 1.0);
  bson_append_document_begin(&m, "tags", -1, &tags);
  bson_append_document_end(&m, &tags);
  bson_append_int64(&m, "secondaryDelaySecs", -1, 0);
  bson_append_int32(&m, "votes", -1, 1);
  bson_append_document_end(&members, &m);
  bson_append_array_end(&cfg, &members);
  bson_append_int64(&cfg, "protocolVersion", -1, 1);
  bson_append_bool(&cfg, "writeConcernMajorityJournalDefault", -1, true);
  bson_append_document_begin(&cfg, "settings", -1, &settings);
  bson_append_bool(&settings, "chainingAllowed", -1, true);
  bson_append_int32(&settings, "heartbeatIntervalMillis", -1, 2000);
  bson_append_int32(&settings, "heartbeatTimeoutSecs", -1, 10);
  bson_append_int32(&settings, "electionTimeoutMillis", -1, 10000);
  bson_append_int32(&settings, "catchUpTimeoutMillis", -1, -1);
  bson_append_int32(&settings, "catchUpTakeoverDelayMillis", -1, 30000);
  // The replica-set id is stable for the life of the process.
  bson_append_oid(&settings, "replicaSetId", -1, &ctx.process_id);
  bson_append_document_end(&cfg, &settings);
  bson_append_document_end(reply, &cfg);
  return Status::OK();
}

// replSetStepDown (repl_set_commands.cpp CmdReplSetStepDown, then the coordinator's
// stepDown). A one-member set has no electable secondary to catch up, so without force the
// command waits out secondaryCatchUpPeriodSecs and fails as mongod does; with force it
// steps down once that period (0 by default with force) is over. Since 4.2 connections stay
// open; the step-down period ends with the single-node election (repl_state.h).
Status run_repl_set_step_down(ServerState& st, CommandContext& c) {
  const bson_t* body = c.body();
  bson_iter_t it;
  const bool force = common::find_field(body, "force", &it) && common::value_truthy(&it);
  if (st.ctx.options.standalone) return no_replication();
  int64_t secs = 0;
  if (bson_iter_init(&it, body) && bson_iter_next(&it) && (BSON_ITER_HOLDS_NUMBER(&it))) {
    secs = BSON_ITER_HOLDS_DOUBLE(&it) ? static_cast<int64_t>(bson_iter_double(&it)) : bson_iter_as_int64(&it);
  }
  if (secs == 0) secs = 60;
  if (secs < 0) return Status(common::kBadValue, "stepdown period must be a positive integer");
  int64_t catch_up = force ? 0 : 10;
  if (common::find_field(body, "secondaryCatchUpPeriodSecs", &it)) {
    if (!BSON_ITER_HOLDS_NUMBER(&it)) {
      return Status(common::kTypeMismatch,
                    std::string("Expected field \"secondaryCatchUpPeriodSecs\" to have numeric type, but found ") +
                        common::type_alias(bson_iter_type(&it)));
    }
    double d = bson_iter_as_double(&it);
    if (d != static_cast<double>(static_cast<int64_t>(d))) {
      return Status(common::kBadValue,
                    "Expected field \"secondaryCatchUpPeriodSecs\" to have a value exactly representable as a 64-bit "
                    "integer, but found secondaryCatchUpPeriodSecs: " +
                        common::value_to_server_string(bson_iter_value(&it)));
    }
    catch_up = static_cast<int64_t>(d);
  }
  if (catch_up < 0) return Status(common::kBadValue, "secondaryCatchUpPeriodSecs period must be a positive or absent");
  if (secs < catch_up) return Status(common::kBadValue, "stepdown period must be longer than secondaryCatchUpPeriodSecs");
  if (!st.repl.writable_primary()) return Status(common::kNotWritablePrimary, "not primary so can't step down");
  if (catch_up > 0) st.sleep_for(std::chrono::seconds(catch_up));
  if (!force) {
    return Status(kExceededTimeLimit,
                  "No electable secondaries caught up as of " + iso_local(now_ms()) +
                      ". Please use the replSetStepDown command with the argument {force: true} to force node to step "
                      "down.");
  }
  return st.repl.step_down(secs * 1000, false, 0);
}

}  // namespace

void append_hello_replication(ServerState& st, bson_t* b, bool legacy_names) {
  const ServerContext& ctx = st.ctx;
  const ReplState::Snapshot m = st.repl.snapshot();
  const OplogView ov = oplog_view(st);
  const int64_t term = ctx.clock.term();
  bson_t tv;
  bson_append_document_begin(b, "topologyVersion", -1, &tv);
  bson_append_oid(&tv, "processId", -1, &ctx.process_id);
  bson_append_int64(&tv, "counter", -1, ctx.topology_counter.load());
  bson_append_document_end(b, &tv);
  bson_t hosts;
  bson_append_array_begin(b, "hosts", -1, &hosts);
  common::append_utf8(&hosts, "0", ctx.host_and_port);
  bson_append_array_end(b, &hosts);
  common::append_utf8(b, "setName", ctx.options.replset);
  bson_append_int32(b, "setVersion", -1, 1);
  bson_append_bool(b, legacy_names ? "ismaster" : "isWritablePrimary", -1, m.primary);
  bson_append_bool(b, "secondary", -1, !m.primary);
  // A stepped-down member of a one-member set knows no primary and has no electionId.
  if (m.primary) common::append_utf8(b, "primary", ctx.host_and_port);
  common::append_utf8(b, "me", ctx.host_and_port);
  if (m.primary) {
    bson_oid_t eid = election_id(m.election.term);
    bson_append_oid(b, "electionId", -1, &eid);
  }
  // lastWriteDate / majorityWriteDate have the optime's seconds (appendTimeT).
  bson_t lw;
  bson_append_document_begin(b, "lastWrite", -1, &lw);
  append_optime(&lw, "opTime", ov.last, term);
  bson_append_date_time(&lw, "lastWriteDate", -1, static_cast<int64_t>(ov.last.t) * 1000);
  append_optime(&lw, "majorityOpTime", ov.last, term);
  bson_append_date_time(&lw, "majorityWriteDate", -1, static_cast<int64_t>(ov.last.t) * 1000);
  bson_append_document_end(b, &lw);
}

void append_repl_server_status(ServerState& st, bson_t* b) {
  if (st.ctx.options.standalone) return;
  bson_t d;
  bson_append_document_begin(b, "repl", -1, &d);
  append_hello_replication(st, &d, false);
  bson_append_int32(&d, "rbid", -1, 1);
  // GlobalUserWriteBlockState (6.0+): 1 = kDisabled.
  if (st.ctx.options.version() >= 60) bson_append_int32(&d, "userWriteBlockMode", -1, 1);
  bson_append_document_end(b, &d);
}

void append_oplog_server_status(ServerState& st, bson_t* b) {
  if (st.ctx.options.standalone) return;
  const OplogView ov = oplog_view(st);
  bson_t d;
  bson_append_document_begin(b, "oplog", -1, &d);
  bson_append_timestamp(&d, "latestOptime", -1, ov.last.t, ov.last.i);
  bson_append_timestamp(&d, "earliestOptime", -1, ov.from_oplog ? ov.first.t : 0, ov.from_oplog ? ov.first.i : 0);
  bson_append_document_end(b, &d);
}

void register_repl_commands(ServerState& st, CommandRegistry& r) {
  ServerState* s = &st;
  auto add = [&r](std::string name, std::string help, CommandHandler h) {
    add_admin_command(r, std::move(name), std::move(help), std::move(h));
  };
  add("replSetGetStatus", "Report status of a replica set from the POV of this server",
      [s](CommandContext&, bson_t* reply) { return run_repl_set_get_status(*s, reply); });
  add("replSetGetConfig", "Returns the current replica set configuration",
      [s](CommandContext&, bson_t* reply) { return run_repl_set_get_config(*s, reply); });
  add("replSetStepDown",
      "{ replSetStepDown : <seconds> }\nStep down as primary.  Will not try to reelect self for the specified time period "
      "(1 minute if no numeric secs value specified, or secs is 0).",
      [s](CommandContext& c, bson_t*) { return run_repl_set_step_down(*s, c); });
  add("replSetStepUp", "{ replSetStepUp : 1 }", [s](CommandContext& c, bson_t*) {
    if (s->ctx.options.standalone) return no_replication();
    bson_iter_t it;
    bool skip_dry_run = common::find_field(c.body(), "skipDryRun", &it) && common::value_truthy(&it);
    // stepUpIfEligible: the request ignores the step-down period; a primary has nothing to do.
    return s->repl.step_up(skip_dry_run ? "stepUpRequestSkipDryRun" : "stepUpRequest");
  });
}

}  // namespace sim::server
