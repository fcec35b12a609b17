#pragma once
// Output formats shared by `mixcl bench` and `mixcl bench kernels`: one row per case as an ordered JSON
// object, rendered as a markdown table, a JSON array or CSV.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mixcl::bench {

/// One result row: field name -> value (string, number, bool, array or null), in insertion order.
using Row = nlohmann::ordered_json;

/// A column of the markdown table: which field, its header, and how to print numbers.
struct Column {
  Column(std::string k, std::string h, int p = -1) : key(std::move(k)), header(std::move(h)), precision(p) {}
  std::string key;
  std::string header;
  int precision = -1;  // digits after the point for floating-point values; -1: as they are
  std::function<std::string(const nlohmann::ordered_json& row)> display;  // optional: the cell from the row
};

/// Rows with the columns the markdown table shows (JSON and CSV carry every field of every row).
struct Report {
  std::vector<Column> columns;
  std::vector<Row> rows;
  std::vector<std::string> notes;  // lines printed under the markdown table (conventions, probe source)
};

/// Output format of a report.
enum class OutputFormat { kMarkdown, kJson, kCsv };

/// Parses "md" / "markdown", "json", "csv"; throws mixcl::Error listing the allowed names.
OutputFormat parse_output_format(std::string_view name);

/// Markdown table of the columns (null values print "-", failures whatever the row holds), then the notes.
std::string render_markdown(const Report& report);
/// JSON array of the rows, every field, one object per row.
std::string render_json(const Report& report);
/// CSV with a header of every field seen (first-seen order); arrays are space-separated in one quoted cell.
std::string render_csv(const Report& report);
/// The report in `format`.
std::string render(const Report& report, OutputFormat format);

/// One value as a table cell: numbers with `precision` digits, strings as they are, null as "-".
std::string format_cell(const nlohmann::ordered_json& value, int precision);

}  // namespace mixcl::bench
