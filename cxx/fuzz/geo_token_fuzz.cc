// libFuzzer harness of hotloop::geo::tokens_to_cells and cells_to_tokens: tokens are untrusted
// text (NumPy 'S' arrays of any width, NUL-padded), parsed by S2CellId::FromToken.
//
// Input: a width byte (1 to 24), then tokens of that many bytes.
// Oracles: a twin parser written from the token format (1 to 16 hexadecimal digits of the id's
// most significant nibbles, either case, up to the first NUL; "X" or "x" is id 0; anything
// else, and a text meaning id 0 other than "X", is malformed) gives the same ids and the same
// first malformed index, on 1 and 2 threads; formatting the ids and parsing them back is the
// identity for every 64-bit value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "hotloop/geo.hpp"

namespace {

// The twin: *id and whether the token is well formed.
bool twin(const char* p, std::size_t width, std::uint64_t* id) {
  std::size_t size = 0;
  while (size < width && p[size] != '\0') ++size;
  *id = 0;
  if (size == 1 && (p[0] == 'X' || p[0] == 'x')) return true;
  if (size == 0 || size > 16) return false;
  for (std::size_t i = 0; i < size; ++i) {
    const char c = p[i];
    std::uint64_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<std::uint64_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<std::uint64_t>(c - 'A' + 10);
    } else {
      *id = 0;
      return false;
    }
    *id |= d << (60 - 4 * i);
  }
  return *id != 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::int64_t width = 1 + data[0] % 24;
  const char* tokens = reinterpret_cast<const char*>(data + 1);
  const std::int64_t n = static_cast<std::int64_t>(size - 1) / width;

  std::vector<std::uint64_t> want(static_cast<std::size_t>(n));
  std::int64_t want_bad = -1;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!twin(tokens + width * i, static_cast<std::size_t>(width), &want[i]) && want_bad < 0) {
      want_bad = i;
    }
  }
  for (int threads = 1; threads <= 2; ++threads) {
    std::vector<std::uint64_t> got(static_cast<std::size_t>(n));
    const std::int64_t bad = hotloop::geo::tokens_to_cells(tokens, width, n, got.data(), threads);
    if (bad != want_bad || got != want) std::abort();
  }
  // Any 64-bit values (the input's bytes) format and parse back to themselves.
  const std::int64_t n_ids = static_cast<std::int64_t>(size / 8);
  std::vector<std::uint64_t> ids(static_cast<std::size_t>(n_ids));
  if (n_ids) std::memcpy(ids.data(), data, 8 * static_cast<std::size_t>(n_ids));
  std::vector<char> text(16 * static_cast<std::size_t>(n_ids));
  if (!hotloop::geo::cells_to_tokens(ids.data(), n_ids, text.data(), 2)) return 0;
  std::vector<std::uint64_t> back(static_cast<std::size_t>(n_ids));
  if (hotloop::geo::tokens_to_cells(text.data(), 16, n_ids, back.data(), 1) != -1 || back != ids) {
    // id 0's token is "X"; every other value's token is well formed.
    std::abort();
  }
  return 0;
}
