// Change streams (see change_stream.h). The $changeStream stage is one DocumentSource that
// does what the server's expanded stages do in order: the oplog scan with its history check
// (CollectionScan's assertTsHasNotFallenOff), transaction unwinding and the transform
// (change_stream_event.cc), CheckInvalidate, CheckResumability, AddPreImage, AddPostImage,
// EnsureResumeTokenPresent and the classic-event filter. The cursor does
// PlanExecutorPipeline's accounting: the _id check, the postBatchResumeToken (the last
// event's token, else a high-water mark at the newest oplog time scanned) and the 16 MB
// limit on serialized events.
#include "sim/engine/change_stream.h"

#include <fmt/format.h>

#include <deque>
#include <mutex>
#include <shared_mutex>

#include "sim/engine/change_stream_internal.h"
#include "sim/engine/engine_impl.h"
#include "sim/engine/oplog_read.h"
#include "sim/engine/update_diff.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;
using Scope = ChangeStreamSpec::Scope;

constexpr int kChangeStreamFatalError = 280;
constexpr int kInvalidResumeToken = 260;
constexpr int kNoMatchingDocument = 47;
constexpr int kIncompleteTransactionHistory = 258;
// BSONObjMaxInternalSize: what Document::toBson admits (10334 above it).
constexpr uint32_t kMaxInternalSize = 16 * 1024 * 1024 + 16 * 1024;
// DocumentSourceChangeStreamSplitLargeEvent::kBSONObjMaxChangeEventSize.
constexpr uint32_t kMaxChangeEventSize = kMaxInternalSize - 8 * 1024;

struct ChangeStreamState {
  ChangeStreamSpec spec;
  bool has_split_stage = false;
  // postBatchResumeToken, and the token of the document last emitted toward the cursor
  // (the server's sort-key metadata).
  ResumeToken pbrt;
  ResumeTokenData current_data;
  ResumeToken current;
  // The newest oplog time the scan has read past (the high-water mark at EOF).
  Timestamp latest_scanned;
  // Invalidated: the stream is at its end, the PBRT is the invalidate event's token.
  bool closed = false;
  ResumeToken invalidate_token;
  // Set when the resumed-from event must be split again to find the fragment to resume after.
  std::optional<ResumeToken> resume_after_split;
};

namespace {

// ---- parsing the stage ----------------------------------------------------------------------

Status wrong_type(std::string_view field, const bson_iter_t* it, std::string_view expected) {
  return Status(common::kTypeMismatch, fmt::format("BSON field '$changeStream.{}' is the wrong type '{}', expected type '{}'",
                                                   field, common::type_alias(bson_iter_type(it)), expected));
}

Status bad_enum(std::string_view field, std::string_view value) {
  return Status(common::kBadValue,
                fmt::format("Enumeration value '{}' for field '$changeStream.{}' is not a valid value.", value, field));
}

// The IDL resumeToken type: an object whose _data/_typeBits ResumeToken(Document) accepts.
Result<Bson> token_document(std::string_view field, const bson_iter_t* it) {
  if (!BSON_ITER_HOLDS_DOCUMENT(it)) return wrong_type(field, it, "object");
  uint32_t len;
  const uint8_t* data;
  bson_iter_document(it, &len, &data);
  Bson doc(data, len);
  bson_iter_t f;
  if (!bson_iter_init_find(&f, doc.get(), "_data") || !BSON_ITER_HOLDS_UTF8(&f)) {
    return Status(40647, fmt::format("Bad resume token: _data of missing or of wrong type. Expected string, got {}",
                                     document_to_string(doc.get())));
  }
  if (bson_iter_init_find(&f, doc.get(), "_typeBits")) {
    bson_subtype_t st = BSON_SUBTYPE_USER;
    if (BSON_ITER_HOLDS_BINARY(&f)) bson_iter_binary(&f, &st, nullptr, nullptr);
    if (st != BSON_SUBTYPE_BINARY) {
      return Status(40648, fmt::format("Bad resume token: _typeBits of wrong type {}", document_to_string(doc.get())));
    }
  }
  return doc;
}

struct ParsedStage {
  ChangeStreamSpec spec;
  Bson resume_after, start_after;
};

Result<ParsedStage> parse_stage(EngineImpl& e, const bson_iter_t* arg, const mql::ExpressionContext& ctx) {
  if (!BSON_ITER_HOLDS_DOCUMENT(arg)) return Status(50808, "$changeStream stage expects a document as argument");
  ParsedStage out;
  ChangeStreamSpec& s = out.spec;
  s.version = ctx.version;
  s.db = ctx.db;
  s.coll = ctx.collection;
  s.scope = s.db == "admin" ? Scope::kCluster : s.coll.empty() ? Scope::kDatabase : Scope::kCollection;
  const int v = ctx.version;
  bson_iter_t it;
  bson_iter_recurse(arg, &it);
  std::vector<std::string> seen;
  while (bson_iter_next(&it)) {
    std::string f(bson_iter_key(&it), bson_iter_key_len(&it));
    for (const auto& x : seen) {
      if (x == f) return Status(40413, fmt::format("BSON field '$changeStream.{}' is a duplicate field", f));
    }
    seen.push_back(f);
    auto flag = [&](bool* dst) -> Status {
      if (!BSON_ITER_HOLDS_BOOL(&it)) return wrong_type(f, &it, "bool");
      *dst = bson_iter_bool(&it);
      return Status::OK();
    };
    if (f == "resumeAfter") {
      MS_ASSIGN_OR_RETURN(out.resume_after, token_document(f, &it));
    } else if (f == "startAfter") {
      MS_ASSIGN_OR_RETURN(out.start_after, token_document(f, &it));
    } else if (f == "startAtOperationTime") {
      if (!BSON_ITER_HOLDS_TIMESTAMP(&it)) return wrong_type(f, &it, "timestamp");
      uint32_t t, i;
      bson_iter_timestamp(&it, &t, &i);
      s.start_at_operation_time = Timestamp{t, i};
    } else if (f == "fullDocument") {
      if (!BSON_ITER_HOLDS_UTF8(&it)) return wrong_type(f, &it, "string");
      std::string m = bson_iter_utf8(&it, nullptr);
      if (m == "default") {
        s.full_document = ChangeStreamSpec::FullDocument::kDefault;
      } else if (m == "updateLookup") {
        s.full_document = ChangeStreamSpec::FullDocument::kUpdateLookup;
      } else if (v >= 60 && m == "whenAvailable") {
        s.full_document = ChangeStreamSpec::FullDocument::kWhenAvailable;
      } else if (v >= 60 && m == "required") {
        s.full_document = ChangeStreamSpec::FullDocument::kRequired;
      } else if (v >= 60) {
        return bad_enum(f, m);
      } else {
        // 4.4/5.0 validate the string in DocumentSourceChangeStream::buildPipeline.
        return Status(40575, fmt::format("unrecognized value for the 'fullDocument' option to the $changeStream stage. "
                                         "Expected \"default\" or \"updateLookup\", got \"{}\"",
                                         m));
      }
    } else if (f == "fullDocumentBeforeChange" && v >= 50) {
      if (!BSON_ITER_HOLDS_UTF8(&it)) return wrong_type(f, &it, "string");
      std::string m = bson_iter_utf8(&it, nullptr);
      if (m == "off") {
        s.full_document_before_change = ChangeStreamSpec::PreImage::kOff;
      } else if (m == "whenAvailable") {
        s.full_document_before_change = ChangeStreamSpec::PreImage::kWhenAvailable;
      } else if (m == "required") {
        s.full_document_before_change = ChangeStreamSpec::PreImage::kRequired;
      } else {
        return bad_enum(f, m);
      }
    } else if (f == "allChangesForCluster") {
      MS_RETURN_IF_ERROR(flag(&s.all_changes_for_cluster));
    } else if (f == "showMigrationEvents") {
      MS_RETURN_IF_ERROR(flag(&s.show_migration_events));
    } else if (f == "allowToRunOnConfigDB") {
      MS_RETURN_IF_ERROR(flag(&s.allow_to_run_on_config_db));
    } else if (f == "allowToRunOnSystemNS" && v >= 50) {
      MS_RETURN_IF_ERROR(flag(&s.allow_to_run_on_system_ns));
    } else if (f == "showExpandedEvents" && v >= 60) {
      MS_RETURN_IF_ERROR(flag(&s.show_expanded_events));
    } else if (f == "showSystemEvents" && v >= 60) {
      MS_RETURN_IF_ERROR(flag(&s.show_system_events));
    } else if (f == "showRawUpdateDescription" && v >= 60) {
      MS_RETURN_IF_ERROR(flag(&s.show_raw_update_description));
    } else if ((f == "matchCollectionUUIDForUpdateLookup" || f == "showCommitTimestamp") && v >= 70) {
      bool ignored = false;
      MS_RETURN_IF_ERROR(flag(&ignored));
    } else {
      return Status(common::kUnrecognizedCommandField, fmt::format("BSON field '$changeStream.{}' is an unknown field.", f));
    }
  }

  // DocumentSourceChangeStream::assertIsLegalSpecification.
  if (e.server.options.standalone) return Status(40573, "The $changeStream stage is only supported on replica sets");
  const bool collectionless = s.coll.empty();
  if (s.all_changes_for_cluster && !(s.db == "admin" && collectionless)) {
    return Status(common::kInvalidOptions,
                  fmt::format("A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' "
                              "database, and with no collection name; found {}",
                              collectionless ? s.db + ".$cmd.aggregate" : s.db + "." + s.coll));
  }
  bool legal_db = s.db == "admin" ? s.all_changes_for_cluster
                                  : s.db != "local" && (s.db != "config" || s.allow_to_run_on_config_db);
  if (!legal_db) {
    return Status(common::kInvalidNamespace, fmt::format("$changeStream may not be opened on the internal {} database", s.db));
  }
  if (!collectionless && s.coll.rfind("system.", 0) == 0 && !s.allow_to_run_on_system_ns) {
    return Status(common::kInvalidNamespace,
                  fmt::format("$changeStream may not be opened on the internal {}.{} collection", s.db, s.coll));
  }
  if (!out.resume_after.empty() && !out.start_after.empty()) {
    return Status(50865, "Do not specify both 'resumeAfter' and 'startAfter' in a $changeStream stage");
  }
  std::optional<ResumeToken> token;
  if (!out.start_after.empty()) {
    MS_ASSIGN_OR_RETURN(auto t, parse_resume_token(out.start_after.get()));
    s.start_after = t;
    token = t;
  } else if (!out.resume_after.empty()) {
    MS_ASSIGN_OR_RETURN(auto t, parse_resume_token(out.resume_after.get()));
    s.resume_after = t;
    token = t;
  }
  if (s.start_at_operation_time && token) {
    return Status(40674, "Only one type of resume option is allowed, but multiple were found");
  }
  if (s.resume_after && s.resume_after->from_invalidate) {
    return Status(kInvalidResumeToken,
                  "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification");
  }
  if (token && !token->uuid && s.scope == Scope::kCollection && !token->is_high_water_mark()) {
    return Status(kInvalidResumeToken,
                  "Attempted to resume a single-collection stream, but the resume token does not include a UUID");
  }
  return out;
}

// ---- the $changeStream source -----------------------------------------------------------------

class ChangeStreamSource : public mql::DocumentSource {
 public:
  ChangeStreamSource(EngineImpl& e, std::shared_ptr<ChangeStreamState> st) : e_(e), st_(std::move(st)) {}

  Result<std::optional<Bson>> next() override {
    ChangeStreamState& st = *st_;
    init();
    while (true) {
      if (st.closed) return std::optional<Bson>();
      if (close_after_) {
        st.closed = true;
        return std::optional<Bson>();
      }
      if (queue_.empty()) {
        // Entries that produce no event are scanned past until the end of the oplog.
        bool at_end = false;
        while (queue_.empty() && !at_end) MS_RETURN_IF_ERROR(read_oplog(&at_end));
        if (queue_.empty()) return std::optional<Bson>();
      }
      PendingEvent ev = std::move(queue_.front());
      queue_.pop_front();
      if (ev.invalidates) {
        close_after_ = true;
        st.invalidate_token = ev.token;
      }
      MS_ASSIGN_OR_RETURN(bool pass, resume_checks(ev));
      if (!pass) continue;
      MS_ASSIGN_OR_RETURN(Bson doc, add_images(ev));
      if (!st.spec.show_expanded_events && !is_classic_operation_type(ev.op_type)) continue;
      st.current_data = std::move(ev.token_data);
      st.current = std::move(ev.token);
      return std::optional<Bson>(std::move(doc));
    }
  }

 private:
  void init() {
    if (initialized_) return;
    initialized_ = true;
    const ChangeStreamSpec& s = st_->spec;
    client_ = s.resume_token;
    ensure_ = !client_.is_high_water_mark();
    if (s.start_after && s.start_after->from_invalidate) start_after_invalidate_ = *s.start_after;
  }

  // DocumentSourceChangeStreamCheckResumability, then EnsureResumeTokenPresent (for event
  // tokens). False: swallow the event.
  Result<bool> resume_checks(const PendingEvent& ev) {
    if (status_ == ResumeStatus::kSurpassedToken && (!ensure_ || ensure_done_)) return true;
    ResumeStatus rs = status_ == ResumeStatus::kSurpassedToken ? status_ : compare_against_client_token(ev.token, client_);
    status_ = rs;
    if (rs == ResumeStatus::kCheckNextDoc) return false;
    if (!ensure_ || ensure_done_) return true;
    switch (rs) {
      case ResumeStatus::kFoundToken:
        seen_token_ = true;
        return false;
      case ResumeStatus::kNeedsSplit:
        if (!st_->has_split_stage) return false;
        // The split stage regenerates the fragments and skips those already delivered.
        st_->resume_after_split = client_;
        ensure_done_ = true;
        status_ = ResumeStatus::kSurpassedToken;
        return true;
      default:
        break;
    }
    if (!seen_token_) {
      return Status(kChangeStreamFatalError,
                    fmt::format("cannot resume stream; the resume token was not found. {{_data: \"{}\"{}}}", ev.token.hex(),
                                ev.token.type_bits.empty() ? "" : ", _typeBits: BinData(0, ...)"))
          .with_label("NonResumableChangeStreamError");
    }
    ensure_done_ = true;
    return true;
  }

  // AddPreImage / AddPostImage.
  Result<Bson> add_images(const PendingEvent& ev) {
    const ChangeStreamSpec& s = st_->spec;
    using FD = ChangeStreamSpec::FullDocument;
    using PI = ChangeStreamSpec::PreImage;
    bool pre = s.full_document_before_change != PI::kOff &&
               (ev.op_type == "update" || ev.op_type == "replace" || ev.op_type == "delete");
    bool post = s.full_document != FD::kDefault && ev.op_type == "update";
    if (!pre && !post) return ev.doc;
    Bson doc = ev.doc;
    if (pre) {
      if (!ev.pre_image && s.full_document_before_change == PI::kRequired) {
        return Status(kNoMatchingDocument,
                      "Change stream was configured to require a pre-image for all update, delete and replace events, "
                      "but the pre-image was not found for event: " +
                          not_found_message(doc));
      }
      if (ev.pre_image) {
        bson_t pv = ev.pre_image.view();
        bson_append_document(doc.mut(), "fullDocumentBeforeChange", -1, &pv);
      } else {
        bson_append_null(doc.mut(), "fullDocumentBeforeChange", -1);
      }
    }
    if (post) {
      std::optional<Bson> image;
      if (s.full_document == FD::kUpdateLookup) {
        image = lookup(ev);
      } else if (ev.pre_image && !ev.update_o.empty()) {
        bson_t pv = ev.pre_image.view();
        MS_ASSIGN_OR_RETURN(Bson computed, update_diff::apply_update_entry(&pv, ev.update_o.get()));
        image = std::move(computed);
      }
      if (!image && s.full_document == FD::kRequired) {
        return Status(kNoMatchingDocument,
                      "Change stream was configured to require a post-image for all update events, but the post-image "
                      "was not found for event: " +
                          not_found_message(doc));
      }
      if (image) {
        bson_append_document(doc.mut(), "fullDocument", 12, image->get());
      } else {
        bson_append_null(doc.mut(), "fullDocument", 12);
      }
    }
    return doc;
  }

  // makePreImageNotFoundErrorMsg: {operationType, ns, clusterTime, txnNumber}.
  static std::string not_found_message(const Bson& event) {
    bson_t m = BSON_INITIALIZER;
    for (const char* k : {"operationType", "ns", "clusterTime", "txnNumber"}) {
      bson_iter_t it;
      if (bson_iter_init_find(&it, event.get(), k)) bson_append_iter(&m, k, -1, &it);
    }
    Bson b = Bson::steal(&m);
    return document_to_string(b.get());
  }

  // The current version of the updated document, looked up by collection UUID and
  // documentKey at read time (null when it is gone).
  std::optional<Bson> lookup(const PendingEvent& ev) {
    if (ev.uuid.empty()) return std::nullopt;
    auto coll = e_.catalog.find_by_uuid(ev.uuid);
    if (!coll) return std::nullopt;
    bson_iter_t id;
    if (!bson_iter_init_find(&id, ev.document_key.get(), "_id")) return std::nullopt;
    std::shared_lock lk(coll->mu);
    if (coll->dropped()) return std::nullopt;
    int64_t rid = coll->find_by_id(bson_iter_value(&id));
    if (rid < 0) return std::nullopt;
    const DocRef* d = coll->find(rid);
    if (!d) return std::nullopt;
    return Bson(d->data(), d->size());
  }

  // Reads the next oplog records (copied under the store's lock, transformed outside it so
  // image lookups never take collection locks under the oplog lock) into the queue.
  Status read_oplog(bool* at_end) {
    *at_end = true;
    OplogStore* store = oplog_store(e_);
    if (!store) return Status::OK();
    std::vector<OplogRecord> recs;
    std::vector<std::vector<OplogRecord>> chains;
    {
      std::shared_lock lk(store->mu);
      const auto& all = store->records();
      size_t pos;
      if (!started_) {
        Timestamp start = st_->spec.resume_token.cluster_time;
        // CollectionScan::assertTsHasNotFallenOff: the entry at or before the start must still
        // be in the oplog (unless the oldest entry is the set's initiation).
        if (!all.empty() && start < all.front().ts && !is_initiating_set(all.front())) {
          return Status(common::kChangeStreamHistoryLost,
                        "Resume of change stream was not possible, as the resume point may no longer be in the oplog.")
              .with_label("NonResumableChangeStreamError");
        }
        pos = store->lower_bound(start);
        started_ = true;
      } else {
        if (have_last_ && !all.empty() && last_ < all.front().ts) {
          return Status(common::kCappedPositionLost,
                        "CollectionScan died due to position in capped collection being deleted.");
        }
        pos = have_last_ ? store->upper_bound(last_) : store->lower_bound(st_->spec.resume_token.cluster_time);
      }
      size_t end = std::min(all.size(), pos + kRecordsPerRead);
      for (size_t i = pos; i < end; ++i) {
        const OplogRecord& r = all[i];
        recs.push_back(r);
        chains.emplace_back();
        MS_RETURN_IF_ERROR(collect_chain(*store, r, &chains.back()));
      }
      if (end > pos) {
        last_ = all[end - 1].ts;
        have_last_ = true;
      }
      *at_end = end == all.size();
      Timestamp scanned = *at_end ? store->last_ts() : last_;
      if (st_->latest_scanned < scanned) st_->latest_scanned = scanned;
    }
    for (size_t i = 0; i < recs.size(); ++i) {
      std::deque<PendingEvent> evs;
      MS_RETURN_IF_ERROR(transform_oplog_record(st_->spec, recs[i], chains[i], &evs));
      for (auto& ev : evs) MS_RETURN_IF_ERROR(check_invalidate(std::move(ev)));
    }
    return Status::OK();
  }

  static bool is_initiating_set(const OplogRecord& r) {
    if (r.op != 'n' || !r.o) return false;
    bson_t o = r.o.view();
    bson_iter_t it;
    return bson_iter_init_find(&it, &o, "msg") && BSON_ITER_HOLDS_UTF8(&it) &&
           std::string_view(bson_iter_utf8(&it, nullptr)) == "initiating set";
  }

  // The earlier entries of a multi-entry transaction, followed back through prevOpTime (for a
  // prepared transaction's commitTransaction entry: its prepare entry and those before it).
  static Status collect_chain(const OplogStore& store, const OplogRecord& r, std::vector<OplogRecord>* chain) {
    if (r.op != 'c' || !r.o || !r.session || !r.tail) return Status::OK();
    bson_t o = r.o.view();
    bson_iter_t it;
    if (!bson_iter_init_find(&it, &o, "applyOps") && !bson_iter_init_find(&it, &o, "commitTransaction")) {
      return Status::OK();
    }
    if (bson_iter_init_find(&it, &o, "partialTxn")) return Status::OK();
    const OplogRecord* cur = &r;
    while (true) {
      bson_iter_t p, ts;
      if (!cur->tail) break;
      bson_t tail = cur->tail.view();
      if (!bson_iter_init_find(&p, &tail, "prevOpTime") || !BSON_ITER_HOLDS_DOCUMENT(&p) ||
          !bson_iter_recurse(&p, &ts) || !bson_iter_find(&ts, "ts") || !BSON_ITER_HOLDS_TIMESTAMP(&ts)) {
        break;
      }
      uint32_t t, i;
      bson_iter_timestamp(&ts, &t, &i);
      Timestamp prev{t, i};
      if (prev == Timestamp{}) break;
      size_t idx = store.lower_bound(prev);
      if (idx >= store.records().size() || !(store.records()[idx].ts == prev)) {
        return Status(kIncompleteTransactionHistory, "Incomplete history detected for transaction");
      }
      cur = &store.records()[idx];
      chain->insert(chain->begin(), *cur);
    }
    return Status::OK();
  }

  // DocumentSourceChangeStreamCheckInvalidate: an invalidating command is followed by an
  // invalidate event, then the stream ends; a stream started after an invalidate swallows
  // the first one (and resumes past it when it is the one in the token).
  Status check_invalidate(PendingEvent ev) {
    std::optional<ResumeToken> start_after = std::move(start_after_invalidate_);
    start_after_invalidate_.reset();
    if (!invalidates_stream(st_->spec, ev.op_type)) {
      queue_.push_back(std::move(ev));
      return Status::OK();
    }
    MS_ASSIGN_OR_RETURN(PendingEvent inv, make_invalidate_event(ev));
    queue_.push_back(std::move(ev));
    if (start_after) {
      if (same_token_data(inv.token, *start_after)) {
        // The invalidate the client started after: found, and swallowed.
        seen_token_ = true;
        status_ = ResumeStatus::kFoundToken;
      }
      return Status::OK();
    }
    queue_.push_back(std::move(inv));
    return Status::OK();
  }

  static constexpr size_t kRecordsPerRead = 256;

  EngineImpl& e_;
  std::shared_ptr<ChangeStreamState> st_;
  bool initialized_ = false;
  bool started_ = false;
  bool have_last_ = false;
  Timestamp last_;
  std::deque<PendingEvent> queue_;
  bool close_after_ = false;
  // Resume state.
  ResumeToken client_;
  ResumeStatus status_ = ResumeStatus::kCheckNextDoc;
  bool ensure_ = false;
  bool ensure_done_ = false;
  bool seen_token_ = false;
  std::optional<ResumeToken> start_after_invalidate_;
};

class ChangeStreamStage : public mql::HostStage {
 public:
  ChangeStreamStage(EngineImpl& e, std::shared_ptr<ChangeStreamState> st) : e_(e), st_(std::move(st)) {}
  Result<std::unique_ptr<mql::DocumentSource>> open(std::unique_ptr<mql::DocumentSource>) const override {
    return std::unique_ptr<mql::DocumentSource>(std::make_unique<ChangeStreamSource>(e_, st_));
  }
  bool first_only() const override { return true; }
  bool collectionless() const override { return st_->spec.coll.empty(); }
  bool change_stream() const override { return true; }

 private:
  EngineImpl& e_;
  std::shared_ptr<ChangeStreamState> st_;
};

// ---- $changeStreamSplitLargeEvent ----------------------------------------------------------------

// The size of the current element (type byte, key, value) in its document.
uint32_t element_size(const bson_iter_t* it, const bson_t* doc) {
  bson_iter_t next = *it;
  uint32_t start = bson_iter_offset(&next);
  uint32_t end = bson_iter_next(&next) ? bson_iter_offset(&next) : doc->len - 1;
  return end - start;
}

class SplitSource : public mql::DocumentSource {
 public:
  SplitSource(std::unique_ptr<mql::DocumentSource> in, std::shared_ptr<ChangeStreamState> st)
      : in_(std::move(in)), st_(std::move(st)) {}

  Result<std::optional<Bson>> next() override {
    while (true) {
      if (!fragments_.empty()) return pop();
      MS_ASSIGN_OR_RETURN(auto d, in_->next());
      if (!d) return d;
      size_t skip = 0;
      if (st_->resume_after_split) {
        ResumeToken client = *st_->resume_after_split;
        st_->resume_after_split.reset();
        if (d->size() <= kMaxChangeEventSize) {
          return Status(kChangeStreamFatalError,
                        "Attempted to resume from a split event fragment, but the event in the resumed stream was "
                        "not large enough to be split");
        }
        // The server skips the fragments before the token's, and EnsureResumeTokenPresent then
        // swallows the token's own fragment.
        skip = static_cast<size_t>(*client.fragment_num) + 1;
      }
      if (d->size() <= kMaxChangeEventSize) return d;
      MS_RETURN_IF_ERROR(split(*d, skip));
    }
  }

 private:
  struct Fragment {
    Bson doc;
    ResumeTokenData data;
    ResumeToken token;
  };
  struct Field {
    uint32_t size;
    std::string name;
  };

  Result<std::optional<Bson>> pop() {
    Fragment f = std::move(fragments_.front());
    fragments_.pop_front();
    st_->current_data = std::move(f.data);
    st_->current = std::move(f.token);
    return std::optional<Bson>(std::move(f.doc));
  }

  static Bson header(const ResumeToken& token, int32_t fragment, int32_t of) {
    bson_t d = BSON_INITIALIZER, se;
    token.append_to(&d, "_id");
    bson_append_document_begin(&d, "splitEvent", -1, &se);
    bson_append_int32(&se, "fragment", -1, fragment);
    bson_append_int32(&se, "of", -1, of);
    bson_append_document_end(&d, &se);
    return Bson::steal(&d);
  }

  // change_stream_split_event::splitChangeEvent: the fields other than _id, smallest first
  // (then by name), packed greedily so each fragment with its own token stays under the limit.
  Status split(const Bson& event, size_t skip) {
    std::vector<Field> fields;
    bson_iter_t it;
    bson_iter_init(&it, event.get());
    while (bson_iter_next(&it)) {
      std::string name(bson_iter_key(&it), bson_iter_key_len(&it));
      if (name == "_id") continue;
      fields.push_back({element_size(&it, event.get()), std::move(name)});
    }
    if (fields.empty()) return Status(7182502, "Cannot split an empty event or an event containing solely '_id' field");
    std::sort(fields.begin(), fields.end(), [](const Field& a, const Field& b) {
      return a.size != b.size ? a.size < b.size : a.name < b.name;
    });
    const size_t max_fragment = kMaxChangeEventSize - st_->current.to_document().size();
    std::vector<Fragment> all;
    std::vector<std::vector<size_t>> members;
    size_t i = 0;
    while (i < fields.size()) {
      Fragment f;
      f.data = st_->current_data;
      f.data.fragment_num = static_cast<int32_t>(all.size());
      MS_ASSIGN_OR_RETURN(f.token, encode_resume_token(f.data));
      // toBsonWithMetaData() of {_id, splitEvent}: the sort key rides along as
      // $sortKey: {"": <token>}.
      Bson head = header(f.token, static_cast<int32_t>(all.size() + 1), 0);
      bson_t sk;
      bson_append_document_begin(head.mut(), "$sortKey", -1, &sk);
      f.token.append_to(&sk, "");
      bson_append_document_end(head.mut(), &sk);
      size_t size = head.size();
      members.emplace_back();
      do {
        members.back().push_back(i);
        size += fields[i].size;
      } while (++i < fields.size() && size + fields[i].size <= max_fragment);
      if (size > max_fragment) {
        return Status(7182500, fmt::format("Splitting change event failed: fragment size {} is greater than maximum "
                                           "allowed fragment size {}",
                                           size, max_fragment));
      }
      all.push_back(std::move(f));
    }
    if (skip > all.size()) {
      return Status(kChangeStreamFatalError,
                    "Attempted to resume from a split event, but the resumed stream produced a different split. Ensure "
                    "that the pipeline used to resume is the same as the original");
    }
    const int32_t total = static_cast<int32_t>(all.size());
    for (size_t k = skip; k < all.size(); ++k) {
      Bson d = header(all[k].token, static_cast<int32_t>(k + 1), total);
      for (size_t m : members[k]) {
        const std::string& name = fields[m].name;
        bson_iter_t fi;
        bson_iter_init(&fi, event.get());
        bson_iter_find_w_len(&fi, name.data(), static_cast<int>(name.size()));
        bson_append_iter(d.mut(), name.data(), static_cast<int>(name.size()), &fi);
      }
      all[k].doc = std::move(d);
      fragments_.push_back(std::move(all[k]));
    }
    return Status::OK();
  }

  std::unique_ptr<mql::DocumentSource> in_;
  std::shared_ptr<ChangeStreamState> st_;
  std::deque<Fragment> fragments_;
};

class SplitStage : public mql::HostStage {
 public:
  explicit SplitStage(std::shared_ptr<ChangeStreamState> st) : st_(std::move(st)) {}
  Result<std::unique_ptr<mql::DocumentSource>> open(std::unique_ptr<mql::DocumentSource> input) const override {
    return std::unique_ptr<mql::DocumentSource>(std::make_unique<SplitSource>(std::move(input), st_));
  }
  bool change_stream() const override { return true; }

 private:
  std::shared_ptr<ChangeStreamState> st_;
};

// ---- the cursor ------------------------------------------------------------------------------------

class ChangeStreamCursor : public CursorSource {
 public:
  ChangeStreamCursor(EngineImpl& e, std::shared_ptr<ChangeStreamState> st, std::unique_ptr<mql::DocumentSource> out,
                     std::shared_ptr<void> keep)
      : e_(e), st_(std::move(st)), out_(std::move(out)), keep_(std::move(keep)) {}
  ~ChangeStreamCursor() override {
    out_.reset();
    keep_.reset();
  }

  Status fill(BatchWriter& w, bool* eof, Clock::time_point deadline) override {
    *eof = false;
    seen_version_ = e_.data_version();
    ChangeStreamState& st = *st_;
    if (pending_) {
      if (!w.fits(pending_->size())) return Status::OK();
      w.add(*pending_);
      st.pbrt = pending_token_;
      pending_.reset();
    }
    int n = 0;
    while (!w.full()) {
      if ((++n & 63) == 0 && Clock::now() > deadline) {
        return Status(common::kMaxTimeMSExpired, "operation exceeded time limit");
      }
      MS_ASSIGN_OR_RETURN(auto d, out_->next());
      if (!d) {
        if (st.closed) {
          st.pbrt = st.invalidate_token;
          *eof = true;
        } else if (st.pbrt.cluster_time < st.latest_scanned) {
          // A high-water mark at the newest oplog time scanned (PlanExecutorPipeline).
          st.pbrt = high_water_mark_token(st.latest_scanned, st.spec.token_version);
        }
        return Status::OK();
      }
      MS_RETURN_IF_ERROR(check_id(*d));
      if (d->size() > kMaxInternalSize) return too_large(*d);
      if (!w.fits(d->size())) {
        pending_ = std::move(*d);
        pending_token_ = st.current;
        return Status::OK();
      }
      w.add(*d);
      st.pbrt = st.current;
    }
    return Status::OK();
  }

  void wait_for_data(Clock::time_point deadline) override { e_.wait_data(seen_version_, deadline); }

  void append_cursor_fields(bson_t* cursor) override { st_->pbrt.append_to(cursor, "postBatchResumeToken"); }

 private:
  // PlanExecutorPipeline::_validateChangeStreamsResumeToken.
  Status check_id(const Bson& d) const {
    Bson expected = st_->current.to_document();
    bson_iter_t it;
    bool has_id = bson_iter_init_find(&it, d.get(), "_id");
    if (has_id && BSON_ITER_HOLDS_DOCUMENT(&it)) {
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      if (len == expected.size() && std::memcmp(data, expected.data(), len) == 0) return Status::OK();
    }
    bson_t e = BSON_INITIALIZER, f = BSON_INITIALIZER;
    bson_append_document(&e, "_id", 3, expected.get());
    if (has_id) bson_append_iter(&f, "_id", 3, &it);
    Bson eb = Bson::steal(&e), fb = Bson::steal(&f);
    return Status(kChangeStreamFatalError,
                  fmt::format("Encountered an event whose _id field, which contains the resume token, was modified by "
                              "the pipeline. Modifying the _id field of an event makes it impossible to resume the "
                              "stream from that point. Only transformations that retain the unmodified _id field are "
                              "allowed. Expected: {} but found: {}",
                              common::to_server_string(eb.get()), common::to_server_string(fb.get())))
        .with_label("NonResumableChangeStreamError");
  }

  // BSONObj::_assertInvalid, raised when the executor serializes the event.
  static Status too_large(const Bson& d) {
    std::string first;
    bson_iter_t it;
    if (bson_iter_init(&it, d.get()) && bson_iter_next(&it)) {
      bson_t one = BSON_INITIALIZER;
      bson_append_iter(&one, bson_iter_key(&it), -1, &it);
      std::string s = common::to_server_string(&one);
      bson_destroy(&one);
      // "{ _id: {...} }" → "_id: {...}"
      if (s.size() > 4) first = s.substr(2, s.size() - 4);
    }
    return Status(common::kBSONObjectTooLarge,
                  fmt::format("BSONObj size: {} (0x{:X}) is invalid. Size must be between 0 and {}({}MB) First element: {}",
                              d.size(), d.size(), kMaxInternalSize, kMaxInternalSize / (1024 * 1024), first));
  }

  EngineImpl& e_;
  std::shared_ptr<ChangeStreamState> st_;
  std::unique_ptr<mql::DocumentSource> out_;
  std::shared_ptr<void> keep_;
  std::optional<Bson> pending_;
  ResumeToken pending_token_;
  uint64_t seen_version_ = 0;
};

}  // namespace

Status check_change_stream_request(EngineImpl& e, const CommandContext& c, const std::string& db,
                                   const std::string& coll, const bson_t* pipeline) {
  bson_iter_t it, stage;
  if (!pipeline || !bson_iter_init(&it, pipeline) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
      !bson_iter_recurse(&it, &stage) || !bson_iter_next(&stage) ||
      std::string_view(bson_iter_key(&stage)) != "$changeStream") {
    return Status::OK();
  }
  const bson_t* body = c.body();
  bson_iter_t f;
  if (bson_iter_init_find(&f, body, "autocommit") || bson_iter_init_find(&f, body, "startTransaction")) {
    return Status(common::kOperationNotSupportedInTransaction,
                  "Stage not supported inside of a multi-document transaction: $changeStream");
  }
  if (bson_iter_init_find(&f, body, "readConcern") && BSON_ITER_HOLDS_DOCUMENT(&f)) {
    bson_iter_t lv;
    if (bson_iter_recurse(&f, &lv) && bson_iter_find(&lv, "level") && BSON_ITER_HOLDS_UTF8(&lv) &&
        std::string_view(bson_iter_utf8(&lv, nullptr)) != "majority") {
      bson_t rc = BSON_INITIALIZER;
      bson_append_iter(&rc, "readConcern", -1, &f);
      std::string shown = common::to_server_string(&rc);
      bson_destroy(&rc);
      return Status(common::kInvalidOptions,
                    fmt::format("Read concern {} is not supported for change streams. Only read concern level "
                                "\"majority\" is supported.",
                                shown));
    }
  }
  if (!coll.empty() && e.catalog.find_view(db, coll)) {
    return Status(common::kCommandNotSupportedOnView, fmt::format("Namespace {}.{} is a view, not a collection", db, coll));
  }
  // DocumentSourceChangeStreamSplitLargeEvent::validatePipelinePosition.
  uint32_t n = bson_count_keys(pipeline), i = 0;
  bson_iter_init(&it, pipeline);
  while (bson_iter_next(&it)) {
    ++i;
    if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &stage) || !bson_iter_next(&stage)) continue;
    if (std::string_view(bson_iter_key(&stage)) == "$changeStreamSplitLargeEvent" && i != n) {
      return Status(7182802, "$changeStreamSplitLargeEvent must be the last stage in the pipeline");
    }
  }
  return Status::OK();
}

Result<std::unique_ptr<mql::HostStage>> make_change_stream_stage(EngineImpl& e, std::string_view name,
                                                                 const bson_iter_t* spec,
                                                                 const mql::ExpressionContext& ctx,
                                                                 std::shared_ptr<ChangeStreamState>* state) {
  if (name == "$changeStream") {
    MS_ASSIGN_OR_RETURN(ParsedStage parsed, parse_stage(e, spec, ctx));
    auto st = std::make_shared<ChangeStreamState>();
    st->spec = std::move(parsed.spec);
    *state = st;
    return std::unique_ptr<mql::HostStage>(std::make_unique<ChangeStreamStage>(e, st));
  }
  if (name == "$changeStreamSplitLargeEvent" && ctx.version >= 60) {
    if (!BSON_ITER_HOLDS_DOCUMENT(spec)) return Status(7182800, "$changeStreamSplitLargeEvent spec should be an empty object");
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(spec, &len, &data);
    if (len != 5) return Status(7182800, "$changeStreamSplitLargeEvent spec should be an empty object");
    if (!*state) {
      return Status(common::kIllegalOperation, "$changeStreamSplitLargeEvent can only be used in a $changeStream pipeline.");
    }
    (*state)->has_split_stage = true;
    return std::unique_ptr<mql::HostStage>(std::make_unique<SplitStage>(*state));
  }
  return std::unique_ptr<mql::HostStage>();
}

Result<std::unique_ptr<CursorSource>> make_change_stream_cursor(EngineImpl& e, const CommandContext& c,
                                                                std::shared_ptr<ChangeStreamState> state,
                                                                std::unique_ptr<mql::DocumentSource> out,
                                                                std::shared_ptr<void> keep_alive) {
  ChangeStreamSpec& s = state->spec;
  // v1 tokens up to 6.0 (v2 only when asked), v2 from 7.0 (v1 only when asked, as a 6.0
  // mongos does): run_aggregate's $_generateV2ResumeTokens handling.
  s.token_version = s.version >= 70 ? 2 : 1;
  bson_iter_t it;
  if (s.version >= 60 && bson_iter_init_find(&it, c.body(), "$_generateV2ResumeTokens") && BSON_ITER_HOLDS_BOOL(&it)) {
    bool v2 = bson_iter_bool(&it);
    if (s.version >= 70) {
      if (v2) return Status(6528200, "Invalid request for v2 tokens");
      s.token_version = 1;
    } else if (v2) {
      s.token_version = 2;
    }
  }
  if (s.start_after) {
    s.resume_token = *s.start_after;
  } else if (s.resume_after) {
    s.resume_token = *s.resume_after;
  } else {
    // getStartTimeForNewStream: one tick past the newest operation.
    Timestamp start = s.start_at_operation_time ? *s.start_at_operation_time
                                                : Timestamp::unpack(e.oplog_writer->last_ts().packed() + 1);
    s.resume_token = high_water_mark_token(start, s.token_version);
  }
  // The initial postBatchResumeToken is the start point itself.
  state->pbrt = s.resume_token;
  state->current = s.resume_token;
  return std::unique_ptr<CursorSource>(
      std::make_unique<ChangeStreamCursor>(e, std::move(state), std::move(out), std::move(keep_alive)));
}

bool is_change_stream_cursor(const CursorSource* source) {
  return dynamic_cast<const ChangeStreamCursor*>(source) != nullptr;
}

}  // namespace sim::engine
