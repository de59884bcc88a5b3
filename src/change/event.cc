#include "change/event.h"

namespace change {

const char* to_string(EventType t) {
  switch (t) {
    case EventType::kInsert: return "insert";
    case EventType::kReplace: return "replace";
    case EventType::kUpdate: return "update";
    case EventType::kDelete: return "delete";
    case EventType::kCommand: return "command";
  }
  return "?";
}

size_t ChangeEvent::bytes() const {
  size_t n = sizeof(ChangeEvent) + db.size() + coll.size() + key.size() + doc.size() + command.size() + resume.token.size();
  for (const auto& u : updates) n += u.size() + sizeof(common::Bson);
  return n;
}

common::Status history_lost(const std::string& detail, const OpTime& at) {
  return common::Status(common::kChangeStreamHistoryLost,
                        "the resume point " + at.str() + " is no longer on the source (" + detail +
                            "): the oplog rolled over while the task was behind or paused. Changes since then "
                            "cannot be replayed; restart the task from the beginning (a new full copy), and give "
                            "the source a larger oplog (replSetResizeOplog) or keep the pause shorter");
}

}  // namespace change
