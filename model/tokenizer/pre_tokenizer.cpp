#include "model/tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <fmt/format.h>

#include <memory>

#include "common/error.h"

namespace mixcl::tokenizer {
namespace {

// deepseek-v3 (V3, R1, V3.1): digits in groups of up to three, CJK/kana runs, then a GPT-4-like split.
const std::vector<std::string> kDeepseekV3 = {
    R"(\p{N}{1,3})",
    R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)",
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re",
};

// deepseek-llm (V2 family): CR/LF, cased-letter runs from an explicit range list, ASCII/full-width punctuation
// runs, trailing whitespace, CJK/Hangul runs, digit runs.
const std::vector<std::string> kDeepseekLlm = {
    R"([\r\n])",
    R"(\s?[\x{41}-\x{5A}\x{61}-\x{7A}\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF})"
    R"(\x{1C4}-\x{293}\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386})"
    R"(\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556})"
    R"(\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B})"
    R"(\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D})"
    R"(\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE})"
    R"(\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4})"
    R"(\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128})"
    R"(\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184})"
    R"(\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B})"
    R"(\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17})"
    R"(\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB})"
    R"(\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)",
    R"(\s?[\x{21}-\x{2F}\x{3A}-\x{7E}\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)",
    R"(\s+$)",
    R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)",
    R"(\p{N}+)",
};

// kimi-k2 (Kimi-K2, Moonlight): the tiktoken pattern of their tokenizer; its class intersections
// "[X&&[^\p{Han}]]" are written as a per-character negative lookahead "(?:(?!\p{Han})[X])". PCRE2 (10.40+)
// reads \p{Han} as Script_Extensions, which also covers CJK punctuation such as U+3001; \p{sc:Han} is the
// Script property the original pattern means.
const std::vector<std::string> kKimiK2 = {
    R"re([\p{sc:Han}]+)re"
    R"re(|[^\r\n\p{L}\p{N}]?(?:(?!\p{sc:Han})[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}])*(?:(?!\p{sc:Han})[\p{Ll}\p{Lm}\p{Lo}\p{M}])+(?i:'s|'t|'re|'ve|'m|'ll|'d)?)re"
    R"re(|[^\r\n\p{L}\p{N}]?(?:(?!\p{sc:Han})[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}])+(?:(?!\p{sc:Han})[\p{Ll}\p{Lm}\p{Lo}\p{M}])*(?i:'s|'t|'re|'ve|'m|'ll|'d)?)re"
    R"re(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re",
};

// default / gpt2: the original GPT-2 split.
const std::vector<std::string> kGpt2 = {
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
};

// Per-thread JIT stack (the default 32 KiB one is too small for long words in kimi-k2's lookahead groups);
// its memory is reserved up front but only touched as deep matches need it.
constexpr size_t kJitStackMax = size_t{256} << 20;

struct JitResources {
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  JitResources() {
    context = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, kJitStackMax, nullptr);
    if (context && stack) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~JitResources() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
  }
};

}  // namespace

// One compiled expression; pcre2_code is read-only while matching, so it can be shared between threads.
struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Regex() { pcre2_code_free(code); }
};

std::vector<std::string> PreTokenizer::known_names() {
  return {"default", "gpt2", "gpt-2", "deepseek-v3", "deepseek-llm", "kimi-k2"};
}

std::vector<std::string> PreTokenizer::expressions_for(std::string_view name) {
  if (name == "deepseek-v3") return kDeepseekV3;
  if (name == "deepseek-llm") return kDeepseekLlm;
  if (name == "kimi-k2") return kKimiK2;
  if (name == "default" || name == "gpt2" || name == "gpt-2") return kGpt2;
  std::string known;
  for (const auto& n : known_names()) known += (known.empty() ? "" : ", ") + n;
  fail("unknown pre-tokenizer '{}' (tokenizer.ggml.pre); this build knows: {}", name, known);
}

PreTokenizer::PreTokenizer(std::string_view name) : PreTokenizer(std::string(name), expressions_for(name)) {}

PreTokenizer::PreTokenizer(std::string name, const std::vector<std::string>& expressions)
    : name_(std::move(name)) {
  for (const auto& expr : expressions) {
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    // MATCH_INVALID_UTF: invalid UTF-8 in the input is skipped over instead of failing the match;
    // DOLLAR_ENDONLY: "$" means the end of the piece only.
    const uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expr.data()), expr.size(), options,
                                     &error_code, &error_offset, nullptr);
    if (!code) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error_code, message, sizeof(message));
      fail("pre-tokenizer '{}': cannot compile expression at offset {}: {} (expression: {})", name_,
           error_offset, reinterpret_cast<const char*>(message), expr);
    }
    auto regex = std::make_shared<Regex>();
    regex->code = code;
    regex->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    regexes_.push_back(std::move(regex));
  }
}

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  if (text.empty()) return pieces;
  pieces.push_back(text);
  std::vector<std::string_view> next;
  thread_local JitResources jit;
  if (!jit.context || !jit.stack) fail("pre-tokenizer '{}': out of memory creating the regex JIT stack", name_);
  for (const auto& regex : regexes_) {
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md_owner(
        pcre2_match_data_create_from_pattern(regex->code, nullptr), &pcre2_match_data_free);
    pcre2_match_data* md = md_owner.get();
    if (!md) fail("pre-tokenizer '{}': out of memory creating match data", name_);
    next.clear();
    for (std::string_view piece : pieces) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t start = 0;  // where the next match search begins
      size_t kept = 0;   // end of the last emitted piece
      while (start < piece.size()) {
        const int rc = regex->jit ? pcre2_jit_match(regex->code, subject, piece.size(), start, 0, md, jit.context)
                                  : pcre2_match(regex->code, subject, piece.size(), start, 0, md, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_MATCHLIMIT) {
          fail("pre-tokenizer '{}': a run of {} bytes without a split point (at byte {} of a {}-byte piece) is "
               "too long for the regex engine's limits; split the input into smaller parts",
               name_, piece.size() - start, start, piece.size());
        }
        if (rc < 0) {
          PCRE2_UCHAR message[256];
          pcre2_get_error_message(rc, message, sizeof(message));
          fail("pre-tokenizer '{}': regex match failed: {}", name_, reinterpret_cast<const char*>(message));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t m_begin = ov[0];
        const size_t m_end = ov[1];
        if (m_end <= m_begin) {
          // An empty match splits nothing; search again one byte on (continuation bytes never match).
          start = m_begin + 1;
          continue;
        }
        if (m_begin > kept) next.push_back(piece.substr(kept, m_begin - kept));
        next.push_back(piece.substr(m_begin, m_end - m_begin));
        kept = start = m_end;
      }
      if (kept < piece.size()) next.push_back(piece.substr(kept));
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace mixcl::tokenizer
