// Report formats shared by `mixcl bench` and `mixcl bench kernels`: JSON keeps every field with its type,
// CSV has a header of every field and quotes what needs it, markdown is a well-formed table.
#include <gtest/gtest.h>

#include <sstream>

#include "bench/lib/model_bench.h"
#include "bench/lib/report.h"
#include "common/error.h"

namespace mixcl::bench {
namespace {

Report sample_report() {
  Report r;
  r.columns = {{"name", "name"}, {"gbps", "GB/s", 2}, {"ok", "ok"}};
  Row a;
  a["name"] = "matvec, Q4_K";  // a comma: CSV must quote it
  a["gbps"] = 12.3456;
  a["ok"] = true;
  a["samples"] = std::vector<double>{1.5, 2.5};
  a["note"] = nullptr;
  Row b;
  b["name"] = "say \"hi\" | pipe";
  b["gbps"] = nullptr;
  b["ok"] = false;
  b["extra"] = 7;  // a field only the second row has
  r.rows = {a, b};
  r.notes = {"a note"};
  return r;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

TEST(Report, ParsesFormatNames) {
  EXPECT_EQ(parse_output_format("md"), OutputFormat::kMarkdown);
  EXPECT_EQ(parse_output_format("markdown"), OutputFormat::kMarkdown);
  EXPECT_EQ(parse_output_format("JSON"), OutputFormat::kJson);
  EXPECT_EQ(parse_output_format("csv"), OutputFormat::kCsv);
  try {
    parse_output_format("sql");
    FAIL() << "no error for an unknown format";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("md, json, csv"), std::string::npos) << e.what();
  }
}

TEST(Report, JsonKeepsEveryFieldAndType) {
  const auto j = nlohmann::json::parse(render_json(sample_report()));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "matvec, Q4_K");
  EXPECT_TRUE(j[0]["gbps"].is_number_float());
  EXPECT_DOUBLE_EQ(j[0]["gbps"].get<double>(), 12.3456);  // full precision, not the table's 2 digits
  EXPECT_TRUE(j[0]["ok"].is_boolean());
  EXPECT_TRUE(j[0]["samples"].is_array());
  EXPECT_TRUE(j[0].contains("note"));
  EXPECT_TRUE(j[0]["note"].is_null());
  EXPECT_TRUE(j[1]["gbps"].is_null());
  EXPECT_EQ(j[1]["extra"], 7);
}

TEST(Report, CsvHeaderHasEveryFieldAndQuotes) {
  const auto l = lines(render_csv(sample_report()));
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0], "name,gbps,ok,samples,note,extra");
  EXPECT_EQ(l[1], "\"matvec, Q4_K\",12.3456,true,1.5 2.5,,");
  EXPECT_EQ(l[2], "\"say \"\"hi\"\" | pipe\",,false,,,7");
}

TEST(Report, MarkdownIsATable) {
  const auto l = lines(render_markdown(sample_report()));
  ASSERT_GE(l.size(), 6u);
  EXPECT_EQ(l[0].substr(0, 7), "| name ");
  EXPECT_NE(l[0].find("| GB/s"), std::string::npos);
  // The separator right-aligns the numeric column.
  EXPECT_NE(l[1].find("-: |"), std::string::npos) << l[1];
  EXPECT_NE(l[2].find("12.35"), std::string::npos) << l[2];  // 2 digits in the table
  EXPECT_NE(l[2].find("yes"), std::string::npos);
  EXPECT_NE(l[3].find("\\|"), std::string::npos) << "a pipe inside a cell must be escaped: " << l[3];
  EXPECT_NE(l[3].find(" - "), std::string::npos) << "null prints '-': " << l[3];
  // Every table line has the same number of unescaped separators.
  auto bars = [](const std::string& s) {
    size_t n = 0;
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] == '|' && (i == 0 || s[i - 1] != '\\')) ++n;
    return n;
  };
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(bars(l[i]), 4u) << l[i];
  EXPECT_EQ(l.back(), "a note");
}

TEST(Report, MarkdownUsesDisplayFunctions) {
  Report r;
  r.columns = model_report_columns();
  Row row;
  row["model_type"] = "deepseek2 16B Q4_K";
  row["model_size"] = uint64_t{3} << 30;
  row["model_n_params"] = uint64_t{15'700'000'000};
  row["backends"] = "CPU";
  row["n_threads"] = 2;
  row["test"] = "tg128";
  row["avg_ts"] = 10.5;
  row["stddev_ts"] = 0.25;
  row["pct_bandwidth_bound"] = 71.25;
  r.rows = {row};
  const std::string md = render_markdown(r);
  EXPECT_NE(md.find("3.00 GiB"), std::string::npos) << md;
  EXPECT_NE(md.find("15.70 B"), std::string::npos) << md;
  EXPECT_NE(md.find("10.50 ± 0.25"), std::string::npos) << md;
  EXPECT_NE(md.find("71.2"), std::string::npos) << md;
}

TEST(Report, MeanAndSampleStddev) {
  const auto [m, s] = mean_stddev({2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0});
  EXPECT_DOUBLE_EQ(m, 5.0);
  EXPECT_NEAR(s, 2.138089935, 1e-9);  // sample (n - 1) standard deviation
  EXPECT_EQ(mean_stddev({3.0}).second, 0.0);
}

}  // namespace
}  // namespace mixcl::bench
