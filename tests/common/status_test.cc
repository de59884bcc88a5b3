#include "common/status.h"

#include <gtest/gtest.h>

namespace {

using common::Result;
using common::Status;

TEST(Status, DefaultIsOkAndPrintsOK) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.to_string(), "OK");
}

TEST(Status, CarriesCodeNameMessageAndLabels) {
  Status s(common::kDuplicateKey, "E11000 duplicate key error");
  s.with_label("RetryableWriteError");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code_name(), "DuplicateKey");
  EXPECT_TRUE(s.has_label("RetryableWriteError"));
  EXPECT_FALSE(s.has_label("TransientTransactionError"));
  EXPECT_EQ(s.to_string(), "DuplicateKey (11000): E11000 duplicate key error");
}

TEST(Status, UnnamedCodesUseLocationPrefix) { EXPECT_EQ(common::code_name(16608), "Location16608"); }

TEST(Status, ContextKeepsCodeLabelsAndExtraInfo) {
  Status s = Status(common::kBadValue, "bad").with_label("X").with_extra_info("abc").with_context("parsing x");
  EXPECT_EQ(s.code(), common::kBadValue);
  EXPECT_EQ(s.message(), "parsing x: bad");
  EXPECT_TRUE(s.has_label("X"));
  EXPECT_EQ(s.extra_info(), "abc");
}

Result<int> half(int x) {
  if (x % 2) return Status(common::kBadValue, "odd");
  return x / 2;
}

Result<int> quarter(int x) {
  MS_ASSIGN_OR_RETURN(int h, half(x));
  return half(h);
}

TEST(Result, HoldsValueOrStatusAndPropagates) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd");
}

}  // namespace
