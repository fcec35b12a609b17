#include "model/tokenizer/special_tokens.h"

#include <algorithm>

namespace mixcl::tokenizer {

void SpecialTokenMatcher::add(std::string text, int32_t id, bool always) {
  if (text.empty()) return;
  auto& bucket = by_first_byte_[static_cast<unsigned char>(text[0])];
  Entry entry{std::move(text), id, always};
  // Keep the bucket sorted by decreasing length so the first hit is the longest; equal texts keep the lower id.
  auto pos = std::find_if(bucket.begin(), bucket.end(),
                          [&](const Entry& e) { return e.text.size() < entry.text.size(); });
  bucket.insert(pos, std::move(entry));
}

std::vector<Segment> SpecialTokenMatcher::split(std::string_view text, bool parse_special) const {
  std::vector<Segment> segments;
  size_t plain_begin = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const Entry* hit = nullptr;
    for (const Entry& e : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      if ((e.always || parse_special) && text.compare(pos, e.text.size(), e.text) == 0) {
        hit = &e;
        break;
      }
    }
    if (!hit) {
      ++pos;
      continue;
    }
    if (pos > plain_begin) segments.push_back(Segment{text.substr(plain_begin, pos - plain_begin), -1});
    segments.push_back(Segment{text.substr(pos, hit->text.size()), hit->id});
    pos += hit->text.size();
    plain_begin = pos;
  }
  if (plain_begin < text.size()) segments.push_back(Segment{text.substr(plain_begin), -1});
  return segments;
}

}  // namespace mixcl::tokenizer
