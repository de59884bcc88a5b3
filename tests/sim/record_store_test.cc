// RecordStore behaves as the std::map<RecordId, document> it replaced: the same records in
// the same order through inserts in RecordId order, removals anywhere (front, middle, back)
// and lookups, with iteration both ways (a randomized comparison).
#include "sim/engine/record_store.h"

#include <gtest/gtest.h>

#include <iterator>
#include <map>
#include <random>

namespace sim::engine {
namespace {

DocRef doc_of(int64_t v) {
  bson_t b = BSON_INITIALIZER;
  bson_append_int64(&b, "_id", 3, v);
  DocRef d = DocRef::copy(&b);
  bson_destroy(&b);
  return d;
}

int64_t id_of(const DocRef& d) {
  bson_t v = d.view();
  bson_iter_t it;
  return bson_iter_init_find(&it, &v, "_id") ? bson_iter_int64(&it) : -1;
}

void expect_same(const RecordStore& s, const std::map<int64_t, int64_t>& m) {
  ASSERT_EQ(s.size(), m.size());
  ASSERT_EQ(s.empty(), m.empty());
  auto mi = m.begin();
  for (const auto& [rid, doc] : s) {
    ASSERT_NE(mi, m.end());
    EXPECT_EQ(rid, mi->first);
    EXPECT_EQ(id_of(doc), mi->second);
    ++mi;
  }
  EXPECT_EQ(mi, m.end());
  // Backwards from the end.
  auto ri = m.rbegin();
  for (auto it = s.end(); it != s.begin();) {
    --it;
    ASSERT_NE(ri, m.rend());
    EXPECT_EQ(it->first, ri->first);
    ++ri;
  }
  EXPECT_EQ(s.first_rid(), m.empty() ? -1 : m.begin()->first);
  EXPECT_EQ(s.last_rid(), m.empty() ? -1 : m.rbegin()->first);
}

TEST(RecordStore, AgreesWithAnOrderedMap) {
  std::mt19937 rng(5);
  RecordStore s;
  std::map<int64_t, int64_t> m;
  int64_t next = 1;
  for (int step = 0; step < 20000; ++step) {
    int op = static_cast<int>(rng() % 10);
    if (op < 5 || m.empty()) {
      int64_t rid = next;
      next += 1 + static_cast<int64_t>(rng() % 3 == 0);  // sometimes a gap
      s.emplace(rid, doc_of(rid * 10));
      m[rid] = rid * 10;
    } else if (op < 8) {
      auto it = std::next(m.begin(), static_cast<long>(rng() % m.size()));
      int64_t rid = it->first;
      EXPECT_EQ(id_of(s.erase(rid)), rid * 10);
      m.erase(it);
    } else if (op == 8 && !m.empty()) {  // remove from the front, as capped collections do
      int64_t rid = m.begin()->first;
      s.erase(rid);
      m.erase(m.begin());
    } else {
      int64_t probe = static_cast<int64_t>(rng() % static_cast<uint64_t>(next + 2)) - 1;
      const DocRef* d = s.find_ptr(probe);
      auto it = m.find(probe);
      ASSERT_EQ(d != nullptr, it != m.end()) << probe;
      if (d) {
        EXPECT_EQ(id_of(*d), it->second);
      }
      auto ub = s.upper_bound(probe);
      auto mub = m.upper_bound(probe);
      ASSERT_EQ(ub == s.end(), mub == m.end());
      if (mub != m.end()) {
        EXPECT_EQ(ub->first, mub->first);
      }
      auto lb = s.lower_bound(probe);
      auto mlb = m.lower_bound(probe);
      ASSERT_EQ(lb == s.end(), mlb == m.end());
      if (mlb != m.end()) {
        EXPECT_EQ(lb->first, mlb->first);
      }
    }
    if (step % 1000 == 0) expect_same(s, m);
  }
  expect_same(s, m);
  EXPECT_FALSE(s.erase(next + 5));  // absent: nothing
  s.clear();
  m.clear();
  expect_same(s, m);
  s.emplace(next, doc_of(1));
  m[next] = 1;
  expect_same(s, m);
}

}  // namespace
}  // namespace sim::engine
