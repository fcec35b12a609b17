#include "bench/lib/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/error.h"

namespace mixcl::bench {
namespace {

bool is_numeric(const nlohmann::ordered_json& v) {
  return v.is_number();
}

// A CSV cell: quoted when it holds a separator, a quote or a line break (quotes doubled).
std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_cell(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "";
  if (v.is_array()) {
    std::string joined;
    for (const auto& e : v) {
      if (!joined.empty()) joined += ' ';
      joined += e.is_string() ? e.get<std::string>() : e.dump();
    }
    return csv_escape(joined);
  }
  if (v.is_string()) return csv_escape(v.get<std::string>());
  return v.dump();  // numbers keep full precision, bools print true/false
}

// Markdown cells must not break the table.
std::string md_escape(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

}  // namespace

OutputFormat parse_output_format(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "md" || n == "markdown") return OutputFormat::kMarkdown;
  if (n == "json") return OutputFormat::kJson;
  if (n == "csv") return OutputFormat::kCsv;
  fail("unknown output format '{}' (allowed: md, json, csv)", name);
}

std::string format_cell(const nlohmann::ordered_json& value, int precision) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_number_float() && precision >= 0) return fmt::format("{:.{}f}", value.get<double>(), precision);
  if (value.is_array()) {
    std::string joined;
    for (const auto& e : value) {
      if (!joined.empty()) joined += ' ';
      joined += format_cell(e, precision);
    }
    return joined;
  }
  return value.dump();
}

std::string render_markdown(const Report& report) {
  const size_t nc = report.columns.size();
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width(nc);
  std::vector<bool> numeric(nc, false);
  for (size_t c = 0; c < nc; ++c) width[c] = std::max<size_t>(3, report.columns[c].header.size());
  for (const auto& row : report.rows) {
    std::vector<std::string> line(nc);
    for (size_t c = 0; c < nc; ++c) {
      const auto& col = report.columns[c];
      const auto it = row.find(col.key);
      const nlohmann::ordered_json v = it == row.end() ? nlohmann::ordered_json() : *it;
      if (is_numeric(v)) numeric[c] = true;
      line[c] = md_escape(col.display ? col.display(row) : format_cell(v, col.precision));
      width[c] = std::max(width[c], line[c].size());
    }
    cells.push_back(std::move(line));
  }
  std::string out = "|";
  for (size_t c = 0; c < nc; ++c) out += fmt::format(" {:<{}} |", report.columns[c].header, width[c]);
  out += "\n|";
  for (size_t c = 0; c < nc; ++c)
    out += fmt::format(" {}{} |", std::string(width[c] - (numeric[c] ? 1 : 0), '-'), numeric[c] ? ":" : "");
  out += "\n";
  for (const auto& line : cells) {
    out += "|";
    for (size_t c = 0; c < nc; ++c)
      out += numeric[c] ? fmt::format(" {:>{}} |", line[c], width[c]) : fmt::format(" {:<{}} |", line[c], width[c]);
    out += "\n";
  }
  if (!report.notes.empty()) {
    out += "\n";
    for (const auto& n : report.notes) out += n + "\n";
  }
  return out;
}

std::string render_json(const Report& report) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& r : report.rows) arr.push_back(r);
  return arr.dump(2) + "\n";
}

std::string render_csv(const Report& report) {
  std::vector<std::string> keys;
  for (const auto& r : report.rows)
    for (const auto& [k, v] : r.items())
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  if (keys.empty())
    for (const auto& c : report.columns) keys.push_back(c.key);
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) out += ',';
    out += csv_escape(keys[i]);
  }
  out += "\n";
  for (const auto& r : report.rows) {
    for (size_t i = 0; i < keys.size(); ++i) {
      const auto it = r.find(keys[i]);
      if (i) out += ',';
      if (it != r.end()) out += csv_cell(*it);
    }
    out += "\n";
  }
  return out;
}

std::string render(const Report& report, OutputFormat format) {
  switch (format) {
    case OutputFormat::kMarkdown:
      return render_markdown(report);
    case OutputFormat::kJson:
      return render_json(report);
    case OutputFormat::kCsv:
      return render_csv(report);
  }
  return {};
}

}  // namespace mixcl::bench
