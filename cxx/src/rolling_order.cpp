// Moving-window order statistics and counts: see rolling.hpp for the conventions.
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "hotloop/detail/float_types.hpp"
#include "hotloop/rolling.hpp"
#include "hotloop/threads.hpp"

namespace hotloop {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline std::ptrdiff_t at_least_one(std::ptrdiff_t m) noexcept { return m > 1 ? m : 1; }

// Counts of non-NaN values: exact integer arithmetic. As pandas' rolling().count(), min_periods
// applies to the window's length (NaNs included), not to the count.
template <class T>
void count_block(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, std::ptrdiff_t minp, T* out,
                 std::ptrdiff_t os, std::ptrdiff_t begin, std::ptrdiff_t end) {
  const std::ptrdiff_t first = std::max<std::ptrdiff_t>(0, begin - W + 1);
  std::ptrdiff_t cnt = 0;
  for (std::ptrdiff_t i = first; i < end; ++i) {
    cnt += x[i * xs] == x[i * xs];
    if (i - W >= first) cnt -= x[(i - W) * xs] == x[(i - W) * xs];
    const std::ptrdiff_t len = i + 1 < W ? i + 1 : W;
    if (i >= begin) out[i * os] = len >= minp ? static_cast<T>(cnt) : static_cast<T>(kNaN);
  }
}

// Streaming min/max by van Herk / Gil-Werman (van Herk, Pattern Recognition Letters 13, 1992;
// Gil & Werman, IEEE PAMI 15, 1993): cut the positions into blocks of W; a window then covers
// the tail of one block and the head of the next, so its extreme is that of a suffix extreme h
// (computed backwards over the earlier block) and a prefix extreme g (forwards over the later
// one): three comparisons per position whatever the window, with no data-dependent branch.
// NaNs enter as the identity (+inf for the minimum, -inf for the maximum) and are counted apart.
// Ties go to the latest position (bottleneck's convention, and the value returned when -0.0 and
// 0.0 tie): every comparison keeps the later operand when equal. The forward and backward
// chains of a block run in one loop, so that their latencies overlap.
// Measured (n = 1e6, 1e9 + N(0,1), one thread, per output): 4-6 ns against 19-21 ns for the
// monotonic deque it replaces (Lemire 2006), whose pops are unpredictable branches.
template <bool MAX, class T>
HOTLOOP_INLINE bool beats(T a, T b) noexcept {  // a strictly more extreme than b
  return MAX ? a > b : a < b;
}

template <class T, bool MAX, bool ARG>
void minmax_block(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, std::ptrdiff_t minp, T* out,
                  std::ptrdiff_t os, std::ptrdiff_t begin, std::ptrdiff_t end) {
  constexpr T kIdentity =
      MAX ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  const std::ptrdiff_t P0 = begin - W + 1;  // first position of the first window (may be < 0)
  const std::ptrdiff_t need = at_least_one(minp);
  // Suffix extremes (and their positions) of the previous block and of the current one.
  std::vector<T> hbuf(2 * static_cast<std::size_t>(W));
  std::vector<std::ptrdiff_t> pbuf(ARG ? 2 * static_cast<std::size_t>(W) : 0);
  T* h_prev = hbuf.data();
  T* h_cur = h_prev + W;
  std::ptrdiff_t* p_prev = ARG ? pbuf.data() : nullptr;
  std::ptrdiff_t* p_cur = ARG ? p_prev + W : nullptr;
  std::ptrdiff_t cnt = 0;  // non-NaN values in the window ending at the current position
  auto value = [&](std::ptrdiff_t p) -> T {
    if (p < 0) return kIdentity;
    const T v = x[p * xs];
    return v == v ? v : kIdentity;
  };
  auto counted = [&](std::ptrdiff_t p) -> std::ptrdiff_t {
    return p >= 0 && x[p * xs] == x[p * xs] ? 1 : 0;
  };
  // The window's extreme came out as the NaN identity although it holds non-NaN values: all of
  // them are that infinity. ARG needs the latest of them, not a NaN's position.
  auto latest_number = [&](std::ptrdiff_t i) {
    std::ptrdiff_t p = i;
    while (!(x[p * xs] == x[p * xs])) --p;
    return p;
  };
  // One block of positions q0 .. q0 + len - 1. CAREFUL: positions before the series (p < 0) or
  // before P0 may be read, which count as NaN (only the first two blocks).
  auto run_block = [&](auto careful, std::ptrdiff_t q0, std::ptrdiff_t len) {
    constexpr bool CAREFUL = decltype(careful)::value;
    T g = kIdentity, h = kIdentity;
    std::ptrdiff_t gp = q0, hp = q0 + len - 1;
    for (std::ptrdiff_t t = 0; t < len; ++t) {
      const std::ptrdiff_t i = q0 + t;
      T vf;
      if constexpr (CAREFUL) {
        vf = value(i);
        cnt += counted(i) - (i - W >= P0 ? counted(i - W) : 0);
      } else {
        const T xi = x[i * xs], xo = x[(i - W) * xs];
        vf = xi == xi ? xi : kIdentity;
        cnt += (xi == xi ? 1 : 0) - (xo == xo ? 1 : 0);
      }
      // g keeps the later operand on ties: vf unless g is strictly more extreme.
      const bool keep = beats<MAX>(g, vf);
      g = keep ? g : vf;
      if (ARG) gp = keep ? gp : i;
      if (!CAREFUL || i >= begin) {
        // The window x[i - W + 1 .. i]: the previous block's suffix from t + 1, then g.
        T r = g;
        std::ptrdiff_t rp = gp;
        if (t + 1 < W) {
          const T hs = h_prev[t + 1];
          const bool earlier = beats<MAX>(hs, g);
          r = earlier ? hs : g;
          if (ARG) rp = earlier ? p_prev[t + 1] : gp;
        }
        if (cnt < need) {
          r = std::numeric_limits<T>::quiet_NaN();
        } else if (ARG) {
          if (r == kIdentity && cnt < W) rp = latest_number(i);
          r = static_cast<T>(i - rp);
        }
        out[i * os] = r;
      }
      // Backward chain over the same block: h keeps the later value on ties.
      const std::ptrdiff_t kb = len - 1 - t;
      T vb;
      if constexpr (CAREFUL) {
        vb = value(q0 + kb);
      } else {
        const T xb = x[(q0 + kb) * xs];
        vb = xb == xb ? xb : kIdentity;
      }
      const bool take = beats<MAX>(vb, h);
      h = take ? vb : h;
      if (ARG) hp = take ? q0 + kb : hp;
      h_cur[kb] = h;
      if (ARG) p_cur[kb] = hp;
    }
    std::swap(h_prev, h_cur);
    if (ARG) std::swap(p_prev, p_cur);
  };
  for (std::ptrdiff_t q0 = P0; q0 < end; q0 += W) {
    const std::ptrdiff_t len = end - q0 < W ? end - q0 : W;
    if (q0 == P0 || q0 - W < 0) {
      run_block(std::true_type{}, q0, len);
    } else {
      run_block(std::false_type{}, q0, len);
    }
  }
}

// Windows of up to kDirectExtremeMax values, full ones (i >= W - 1): each output the extreme of
// its own W values, W - 1 comparisons from the latest value back, vectorised over outputs (no
// buffers, no chains from one output to the next). Same values as minmax_block: NaNs skipped and
// counted apart, ties to the latest (an earlier value replaces r only when strictly more
// extreme). Measured (n = 1e4, window 5, one thread, from Python): the block method took 2.3 ns
// per output, bottleneck's move_max 2.0.
constexpr std::ptrdiff_t kDirectExtremeMax = 16;

template <class T, bool MAX, int W>
HOTLOOP_CLONES __attribute__((noinline)) void minmax_direct(const T* x, std::ptrdiff_t xs,
                                                            std::ptrdiff_t need, T* out,
                                                            std::ptrdiff_t os, std::ptrdiff_t begin,
                                                            std::ptrdiff_t end) noexcept {
  constexpr T kIdentity =
      MAX ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  const T need_t = static_cast<T>(need);  // at most W <= 16: exact
#pragma omp simd
  for (std::ptrdiff_t i = begin; i < end; ++i) {
    const T xi = x[i * xs];
    T r = xi == xi ? xi : kIdentity;
    T cnt = xi == xi ? T(1) : T(0);
    for (int k = 1; k < W; ++k) {
      const T v = x[(i - k) * xs];
      r = beats<MAX>(v, r) ? v : r;
      cnt += v == v ? T(1) : T(0);
    }
    out[i * os] = cnt >= need_t ? r : std::numeric_limits<T>::quiet_NaN();
  }
}

template <class T, bool MAX>
void minmax_short(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, std::ptrdiff_t minp, T* out,
                  std::ptrdiff_t os, std::ptrdiff_t begin, std::ptrdiff_t end) {
  // The windows before output W - 1 are not full: the block method there.
  const std::ptrdiff_t full = W - 1;
  if (begin < full)
    minmax_block<T, MAX, false>(x, xs, W, minp, out, os, begin, std::min(end, full));
  begin = std::max(begin, full);
  if (begin >= end) return;
  const std::ptrdiff_t need = at_least_one(minp);
  switch (W) {
#define HOTLOOP_MINMAX_CASE(K) \
  case K:                      \
    return minmax_direct<T, MAX, K>(x, xs, need, out, os, begin, end);
    HOTLOOP_MINMAX_CASE(1)
    HOTLOOP_MINMAX_CASE(2)
    HOTLOOP_MINMAX_CASE(3)
    HOTLOOP_MINMAX_CASE(4)
    HOTLOOP_MINMAX_CASE(5)
    HOTLOOP_MINMAX_CASE(6)
    HOTLOOP_MINMAX_CASE(7)
    HOTLOOP_MINMAX_CASE(8)
    HOTLOOP_MINMAX_CASE(9)
    HOTLOOP_MINMAX_CASE(10)
    HOTLOOP_MINMAX_CASE(11)
    HOTLOOP_MINMAX_CASE(12)
    HOTLOOP_MINMAX_CASE(13)
    HOTLOOP_MINMAX_CASE(14)
    HOTLOOP_MINMAX_CASE(15)
    default:
      return minmax_direct<T, MAX, 16>(x, xs, need, out, os, begin, end);
#undef HOTLOOP_MINMAX_CASE
  }
}

// Fenwick (binary indexed) tree of counts over the ranks 0..m-1 of a block's sorted values.
class Fenwick {
 public:
  explicit Fenwick(std::ptrdiff_t m) : t_(static_cast<std::size_t>(m) + 1, 0) {}
  void add(std::ptrdiff_t r, std::int32_t d) noexcept {
    const std::ptrdiff_t m = static_cast<std::ptrdiff_t>(t_.size()) - 1;
    for (std::ptrdiff_t i = r + 1; i <= m; i += i & -i) t_[i] += d;
  }
  // Number of entries with rank < r.
  std::int32_t below(std::ptrdiff_t r) const noexcept {
    std::int32_t s = 0;
    for (std::ptrdiff_t i = r; i > 0; i -= i & -i) s += t_[i];
    return s;
  }

 private:
  std::vector<std::int32_t> t_;
};

// median or quantile of m sorted values, get(k) the k-th (k = 0, 1, ...).
template <class Get>
double quantile_of(Get get, std::int32_t m, RollingOrder kind, double q,
                   RollingInterpolation interp) noexcept {
  if (kind == RollingOrder::median) {
    if (m % 2 == 1) return get(m / 2);
    const double a = get(m / 2 - 1), b = get(m / 2);
    const double mid = (a + b) / 2;
    return std::isinf(mid) && std::isfinite(a) && std::isfinite(b) ? a / 2 + b / 2 : mid;
  }
  // pandas' roll_quantile, operation for operation.
  if (m == 1) return get(0);
  const double t = q * static_cast<double>(m - 1);
  const auto k = static_cast<std::int32_t>(t);
  if (static_cast<double>(k) == t) return get(k);
  switch (interp) {
    case RollingInterpolation::linear: {
      const double lo = get(k), hi = get(k + 1);
      return lo + (hi - lo) * (t - static_cast<double>(k));
    }
    case RollingInterpolation::lower:
      return get(k);
    case RollingInterpolation::higher:
      return get(k + 1);
    case RollingInterpolation::nearest: {
      const double frac = t - static_cast<double>(k);
      if (frac == 0.5) return k % 2 == 0 ? get(k) : get(k + 1);
      return frac < 0.5 ? get(k) : get(k + 1);
    }
    case RollingInterpolation::midpoint:
      return (get(k) + get(k + 1)) / 2;
  }
  return kNaN;
}

// bottleneck's move_rank arithmetic, in T: g counts 2 per smaller value, e the equal ones; for
// integer input, from output `window` on, it multiplies by 1 / (window - 1) instead of dividing.
template <class T>
double rank_value(std::int32_t less, std::int32_t equal, std::int32_t cnt, bool reciprocal,
                  std::ptrdiff_t W) noexcept {
  T v = T(0.5) * static_cast<T>(2 * less + equal - 1);
  if (reciprocal) {
    v = v * (T(1) / static_cast<T>(W - 1));
  } else {
    v = v / static_cast<T>(cnt - 1);
  }
  return T(2) * (v - T(0.5));
}

// Short windows: the window's non-NaN values kept sorted in a small array. Equal values stay in
// arrival order, so the one leaving is the first of its run: the same order as the ranks of
// sorted_block, hence the same outputs bit for bit. While the window is full and neither the
// leaving nor the entering value is NaN (the common case), small_full_step rebuilds the array
// slot by slot with selects in SSE2 pairs, a fixed amount of work without a data-dependent
// branch; otherwise counts of comparisons find the slots and memmove makes room. Measured
// (n = 1e6, 100 + N(0, 1), one thread, ns per output, window 4 / 10 / 16): median 40 / 61 / 73
// with the searches and memmove everywhere, 12.5 / 18 / 25 with the step; quantile 41 / 56 / 73
// against 15 / 23 / 31; rank 51 / 82 / 112 against 17 / 27 / 37. The memmove was a libc call
// of unpredictable length whose direction (entering value above or below the leaving one)
// mispredicts every other step. sorted_block costs 60-130 ns per output from window 17 on,
// hardly depending on the window, while the step grows with it: measured (same data, minimum of
// 7 runs) at windows 17 / 24 / 32 / 33, median 50 / 65 / 68 / 60 in sorted_block against
// 15 / 33 / 34 / - here, rank 126 / 101 / 110 / 104 against 32 / 36 / 71 / -. So windows up to
// 32 stay here.
constexpr std::ptrdiff_t kSmallWindow = 32;
constexpr std::ptrdiff_t kLinearSearch = 16;

// Number of buf[0..m) below v (strictly, or not above it when OR_EQUAL), for sorted buf and a
// non-NaN v: std::lower_bound / std::upper_bound.
template <bool OR_EQUAL>
HOTLOOP_INLINE std::ptrdiff_t rank_in(const double* buf, std::ptrdiff_t m, double v,
                                      std::ptrdiff_t W) noexcept {
  if (W <= kLinearSearch) {
    std::ptrdiff_t c = 0;
    for (std::ptrdiff_t k = 0; k < m; ++k) c += (OR_EQUAL ? buf[k] <= v : buf[k] < v) ? 1 : 0;
    return c;
  }
  return (OR_EQUAL ? std::upper_bound(buf, buf + m, v) : std::lower_bound(buf, buf + m, v)) - buf;
}

// One step of a full window of small_sorted_block: old (in the window) leaves, v enters, neither
// NaN. s[0 .. 2 * PAIRS) holds the window's m values sorted, then +inf padding, s[2 * PAIRS]
// is +inf too. Every slot of the new array is computed on its own from its neighbours:
//   d[k] = s[k] < old ? s[k] : s[k + 1]     the array without old: old is the first of its run,
//                                           so exactly the slots before it hold values < old;
//   new[k] = max(d[k - 1], min(v, d[k]))    with d[-1] = -inf, min(a, b) = a < b ? a : b and
//                                           max(a, b) = a > b ? a : b (x86's minpd and maxpd).
// The clamp puts v after the values not above it (arrival order among equals); on a tie the
// stored value wins, so -0.0 and 0.0 stay where they were, bit for bit. Padding +inf is
// indistinguishable from the value +inf, so it moves along whatever enters or leaves; outputs
// read only the first m slots. In pairs of doubles (SSE2 on baseline x86-64): the compiler does
// not vectorise the scalar loop (it unrolls it first). Neighbours come from shuffles of aligned
// loads, so that the loads forward from the previous step's stores.
struct SmallCounts {
  std::int64_t less, not_above;  // values below v and not above v in d, without v
};

using Pair = double __attribute__((vector_size(16)));
using PairMask = std::int64_t __attribute__((vector_size(16)));

HOTLOOP_INLINE Pair select(PairMask m, Pair a, Pair b) noexcept {
  return reinterpret_cast<Pair>((reinterpret_cast<PairMask>(a) & m) |
                                (reinterpret_cast<PairMask>(b) & ~m));
}
HOTLOOP_INLINE Pair straddle(Pair a, Pair b) noexcept {  // {a[1], b[0]}
#if defined(__SSE2__)
  return _mm_shuffle_pd(a, b, 1);
#else
  return Pair{a[1], b[0]};
#endif
}
HOTLOOP_INLINE Pair min_pair(Pair a, Pair b) noexcept {  // a < b ? a : b
#if defined(__SSE2__)
  return _mm_min_pd(a, b);
#else
  return select(a < b, a, b);
#endif
}
HOTLOOP_INLINE Pair max_pair(Pair a, Pair b) noexcept {  // a > b ? a : b
#if defined(__SSE2__)
  return _mm_max_pd(a, b);
#else
  return select(a > b, a, b);
#endif
}

template <int PAIRS>
HOTLOOP_INLINE SmallCounts small_full_step(double* s, double old, double v) noexcept {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const Pair o = {old, old}, w = {v, v};
  Pair c[PAIRS + 1];
  for (int p = 0; p < PAIRS; ++p) std::memcpy(&c[p], s + 2 * p, sizeof(Pair));
  c[PAIRS] = Pair{kInf, kInf};
  Pair d_prev = {-kInf, -kInf};
  PairMask less = {0, 0}, not_above = {0, 0};
  Pair next[PAIRS];
  for (int p = 0; p < PAIRS; ++p) {
    const Pair d = select(c[p] < o, c[p], straddle(c[p], c[p + 1]));
    next[p] = max_pair(straddle(d_prev, d), min_pair(w, d));
    less -= d < w;
    not_above -= d <= w;
    d_prev = d;
  }
  std::memcpy(s, next, sizeof next);
  return {less[0] + less[1], not_above[0] + not_above[1]};
}

// PAIRS = ceil(W / 2): the step's cost grows with the slots it computes.
template <class T, int PAIRS>
void small_sorted_block(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, std::ptrdiff_t minp,
                        RollingOrder kind, double q, RollingInterpolation interp, T* out,
                        std::ptrdiff_t os, std::ptrdiff_t begin, std::ptrdiff_t end) {
  const std::ptrdiff_t first = std::max<std::ptrdiff_t>(0, begin - W + 1);
  // The sorted values, then +inf: small_full_step's layout (the deletion below reads buf[m]).
  alignas(16) double buf[2 * PAIRS + 1];
  std::fill(buf, buf + 2 * PAIRS + 1, std::numeric_limits<double>::infinity());
  std::int32_t m = 0;
  const std::ptrdiff_t need = at_least_one(minp);
  const bool rank = kind == RollingOrder::rank || kind == RollingOrder::rank_of_integers;
  for (std::ptrdiff_t i = first; i < end; ++i) {
    const double v = static_cast<double>(x[i * xs]);
    const double old = i - W >= first ? static_cast<double>(x[(i - W) * xs]) : kNaN;
    std::int32_t lo = 0, hi = 0;  // values below v and not above v in the new window
    if (v == v && old == old) {
      const SmallCounts c = small_full_step<PAIRS>(buf, old, v);
      lo = static_cast<std::int32_t>(c.less);
      // With v, not counting the padding when v is +inf.
      hi = static_cast<std::int32_t>(std::min<std::int64_t>(c.not_above + 1, m));
    } else {
      if (v == v) {
        const std::ptrdiff_t p = rank_in<true>(buf, m, v, W);
        std::memmove(buf + p + 1, buf + p, sizeof(double) * (m - p));
        buf[p] = v;
        ++m;
      }
      if (old == old) {
        // Moves the padding at buf[m] down too.
        const std::ptrdiff_t p = rank_in<false>(buf, m, old, W);
        std::memmove(buf + p, buf + p + 1, sizeof(double) * (m - p));
        --m;
      }
      if (rank && v == v) {
        lo = static_cast<std::int32_t>(rank_in<false>(buf, m, v, W));
        hi = static_cast<std::int32_t>(rank_in<true>(buf, m, v, W));
      }
    }
    if (i < begin) continue;
    double r = kNaN;
    if (m >= need) {
      if (rank) {
        if (v == v) {
          r = m == 1 ? 0.0
                     : rank_value<T>(lo, hi - lo, m,
                                     kind == RollingOrder::rank_of_integers && i >= W, W);
        }
      } else {
        r = quantile_of([&](std::int32_t k) { return buf[k]; }, m, kind, q, interp);
      }
    }
    out[i * os] = static_cast<T>(r);
  }
}

// small_sorted_block<T, PAIRS> for PAIRS = 1 .. kSmallWindow / 2, indexed by PAIRS - 1; the
// caller sends only windows 1 .. kSmallWindow here.
template <class T, std::size_t... I>
constexpr auto small_sorted_blocks(std::index_sequence<I...>) noexcept {
  return std::array{&small_sorted_block<T, static_cast<int>(I) + 1>...};
}

template <class T>
void small_sorted_block(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, std::ptrdiff_t minp,
                        RollingOrder kind, double q, RollingInterpolation interp, T* out,
                        std::ptrdiff_t os, std::ptrdiff_t begin, std::ptrdiff_t end) {
  static constexpr auto blocks = small_sorted_blocks<T>(
      std::make_index_sequence<static_cast<std::size_t>(kSmallWindow / 2)>());
  blocks[static_cast<std::size_t>((W + 1) / 2 - 1)](x, xs, W, minp, kind, q, interp, out, os, begin,
                                                    end);
}

// Sort keys: the unsigned integers whose order is that of the doubles (sign bit flipped for
// positives, all bits for negatives); -0.0 takes 0.0's key, since the two are equal values.
HOTLOOP_INLINE std::uint64_t order_key(double v) noexcept {
  std::uint64_t b;
  v = v == 0.0 ? 0.0 : v;
  std::memcpy(&b, &v, sizeof b);
  return b >> 63 ? ~b : b | (std::uint64_t{1} << 63);
}

// Stable LSD radix sort of (key, position) pairs by key, 11 bits a pass, skipping the passes
// where every key has the same digit (the leading bits of data at one scale). Stable, so equal
// values stay in position order: the (value, position) order the ranks need. Measured for the
// blocks of 5000 values of a window of 1000: 4x faster than std::sort with a comparator.
void radix_sort(std::vector<std::uint64_t>& key, std::vector<std::int32_t>& pos) {
  const std::size_t m = key.size();
  std::vector<std::uint64_t> key2(m);
  std::vector<std::int32_t> pos2(m);
  constexpr int kBits = 11;
  constexpr std::size_t kBuckets = std::size_t{1} << kBits;
  std::vector<std::size_t> count(kBuckets);
  for (int shift = 0; shift < 64; shift += kBits) {
    std::fill(count.begin(), count.end(), 0);
    for (std::size_t k = 0; k < m; ++k) ++count[(key[k] >> shift) & (kBuckets - 1)];
    if (m == 0 || count[(key[0] >> shift) & (kBuckets - 1)] == m) continue;
    std::size_t sum = 0;
    for (std::size_t& c : count) {
      const std::size_t n = c;
      c = sum;
      sum += n;
    }
    for (std::size_t k = 0; k < m; ++k) {
      const std::size_t at = count[(key[k] >> shift) & (kBuckets - 1)]++;
      key2[at] = key[k];
      pos2[at] = pos[k];
    }
    key.swap(key2);
    pos.swap(pos2);
  }
}

// The window as a set of ranks in a bitset, with a cursor on one present rank and the number of
// present ranks below it. The median or a quantile moves by at most a rank or two per output, so
// reaching it is a scan to the next set bit, usually in the same word: O(1) per output against
// the Fenwick tree's O(log(block)) dependent loads (measured 3-4x faster for a window of 1000).
class RankCursor {
 public:
  explicit RankCursor(std::ptrdiff_t m)
      : bits_(static_cast<std::size_t>(m / 64 + 2), 0), sentinel_(m) {
    set(m);  // a rank past every value: next() always finds a bit
  }
  void insert(std::ptrdiff_t r) noexcept {
    set(r);
    if (cur_ < 0) {
      cur_ = r;
      below_ = 0;
    } else if (r < cur_) {
      ++below_;
    }
  }
  // r is present; cnt_after is the number of ranks left.
  void erase(std::ptrdiff_t r, std::ptrdiff_t cnt_after) noexcept {
    clear(r);
    if (cnt_after == 0) {
      cur_ = -1;
    } else if (r == cur_) {
      cur_ = next(r);
      if (cur_ == sentinel_) {
        cur_ = prev(r);
        --below_;
      }
    } else if (r < cur_) {
      --below_;
    }
  }
  // Rank of the k-th present entry (k = 0, 1, ...; fewer than the present ones).
  std::ptrdiff_t kth(std::ptrdiff_t k) noexcept {
    while (below_ > k) {
      cur_ = prev(cur_);
      --below_;
    }
    while (below_ < k) {
      cur_ = next(cur_);
      ++below_;
    }
    return cur_;
  }

 private:
  void set(std::ptrdiff_t r) noexcept { bits_[r >> 6] |= std::uint64_t{1} << (r & 63); }
  void clear(std::ptrdiff_t r) noexcept { bits_[r >> 6] &= ~(std::uint64_t{1} << (r & 63)); }
  std::ptrdiff_t next(std::ptrdiff_t r) const noexcept {  // smallest present rank > r
    ++r;
    std::size_t w = static_cast<std::size_t>(r >> 6);
    std::uint64_t word = bits_[w] & (~std::uint64_t{0} << (r & 63));
    while (word == 0) word = bits_[++w];
    return static_cast<std::ptrdiff_t>(w * 64 + static_cast<std::size_t>(__builtin_ctzll(word)));
  }
  std::ptrdiff_t prev(std::ptrdiff_t r) const noexcept {  // largest present rank < r (exists)
    --r;
    std::size_t w = static_cast<std::size_t>(r >> 6);
    std::uint64_t word = bits_[w] & (~std::uint64_t{0} >> (63 - (r & 63)));
    while (word == 0) word = bits_[--w];
    return static_cast<std::ptrdiff_t>(w * 64 + 63 -
                                       static_cast<std::size_t>(__builtin_clzll(word)));
  }
  std::vector<std::uint64_t> bits_;
  std::ptrdiff_t sentinel_;
  std::ptrdiff_t cur_ = -1;
  std::ptrdiff_t below_ = 0;
};

// median, quantile, rank: the block's non-NaN values sorted once; the window kept as a set of
// ranks, in a RankCursor (median, quantile) or a Fenwick tree (rank: counts below a rank).
template <class T>
void sorted_block(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, std::ptrdiff_t minp,
                  RollingOrder kind, double q, RollingInterpolation interp, T* out,
                  std::ptrdiff_t os, std::ptrdiff_t begin, std::ptrdiff_t end) {
  const std::ptrdiff_t first = std::max<std::ptrdiff_t>(0, begin - W + 1);
  const std::ptrdiff_t len = end - first;
  std::vector<std::uint64_t> key;   // order keys of the non-NaN values
  std::vector<std::int32_t> order;  // their positions (relative to first)
  key.reserve(static_cast<std::size_t>(len));
  order.reserve(static_cast<std::size_t>(len));
  for (std::ptrdiff_t i = 0; i < len; ++i) {
    const T v = x[(first + i) * xs];
    if (v == v) {
      key.push_back(order_key(static_cast<double>(v)));
      order.push_back(static_cast<std::int32_t>(i));
    }
  }
  // Ties by position (-0.0 and 0.0 are equal values, as in comparisons).
  radix_sort(key, order);
  const std::ptrdiff_t m = static_cast<std::ptrdiff_t>(order.size());
  std::vector<std::int32_t> rank(static_cast<std::size_t>(len), -1);
  std::vector<double> sorted(static_cast<std::size_t>(m));
  for (std::ptrdiff_t r = 0; r < m; ++r) {
    rank[order[r]] = static_cast<std::int32_t>(r);
    sorted[r] = static_cast<double>(x[(first + order[r]) * xs]);
  }
  const bool is_rank = kind == RollingOrder::rank || kind == RollingOrder::rank_of_integers;
  // For rank: the first and one-past-last rank of each group of equal values.
  std::vector<std::int32_t> lo, hi;
  if (is_rank) {
    lo.resize(static_cast<std::size_t>(m));
    hi.resize(static_cast<std::size_t>(m));
    for (std::ptrdiff_t r = 0; r < m;) {
      std::ptrdiff_t s = r + 1;
      while (s < m && sorted[s] == sorted[r]) ++s;
      for (std::ptrdiff_t k = r; k < s; ++k) {
        lo[k] = static_cast<std::int32_t>(r);
        hi[k] = static_cast<std::int32_t>(s);
      }
      r = s;
    }
  }
  Fenwick f(is_rank && m > 0 ? m : 1);
  RankCursor cursor(is_rank ? 0 : m);
  std::int32_t cnt = 0;
  const std::ptrdiff_t need = at_least_one(minp);
  for (std::ptrdiff_t i = 0; i < len; ++i) {
    if (rank[i] >= 0) {
      ++cnt;
      if (is_rank) {
        f.add(rank[i], 1);
      } else {
        cursor.insert(rank[i]);
      }
    }
    if (i - W >= 0 && rank[i - W] >= 0) {
      --cnt;
      if (is_rank) {
        f.add(rank[i - W], -1);
      } else {
        cursor.erase(rank[i - W], cnt);
      }
    }
    if (first + i < begin) continue;
    double r = kNaN;
    if (cnt >= need) {
      if (is_rank) {
        if (rank[i] >= 0) {
          if (cnt == 1) {
            r = 0.0;
          } else {
            const std::int32_t less = f.below(lo[rank[i]]);
            r = rank_value<T>(less, f.below(hi[rank[i]]) - less, cnt,
                              kind == RollingOrder::rank_of_integers && first + i >= W, W);
          }
        }
      } else {
        r = quantile_of([&](std::int32_t k) { return sorted[cursor.kth(k)]; }, cnt, kind, q,
                        interp);
      }
    }
    out[(first + i) * os] = static_cast<T>(r);
  }
}

}  // namespace

template <class T>
void rolling_order_block(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, std::ptrdiff_t minp,
                         RollingOrder kind, double q, RollingInterpolation interp, T* out,
                         std::ptrdiff_t os, std::ptrdiff_t begin, std::ptrdiff_t end) {
  if (begin >= end) return;
  switch (kind) {
    case RollingOrder::count:
      return count_block(x, xs, W, minp, out, os, begin, end);
    case RollingOrder::min:
      if (W <= kDirectExtremeMax)
        return minmax_short<T, false>(x, xs, W, minp, out, os, begin, end);
      return minmax_block<T, false, false>(x, xs, W, minp, out, os, begin, end);
    case RollingOrder::max:
      if (W <= kDirectExtremeMax) return minmax_short<T, true>(x, xs, W, minp, out, os, begin, end);
      return minmax_block<T, true, false>(x, xs, W, minp, out, os, begin, end);
    case RollingOrder::argmin:
      return minmax_block<T, false, true>(x, xs, W, minp, out, os, begin, end);
    case RollingOrder::argmax:
      return minmax_block<T, true, true>(x, xs, W, minp, out, os, begin, end);
    default:
      if (W <= kSmallWindow) {
        return small_sorted_block(x, xs, W, minp, kind, q, interp, out, os, begin, end);
      }
      return sorted_block(x, xs, W, minp, kind, q, interp, out, os, begin, end);
  }
}

template <class T>
int rolling_order_rows(const T* x, T* out, const RollingRows& rows, std::ptrdiff_t window,
                       std::ptrdiff_t min_periods, RollingOrder kind, double q,
                       RollingInterpolation interp, int n_threads) noexcept {
  const bool sorted = kind == RollingOrder::median || kind == RollingOrder::quantile ||
                      kind == RollingOrder::rank || kind == RollingOrder::rank_of_integers;
  std::atomic<bool> failed{false};
  // One-core costs per output (ns) measured by cxx/bench/rolling_benchmark: counts and extremes
  // up to 4, the short sorted windows 12-71 (40 taken), the block sort 60-130 (60 taken).
  const double ns = !sorted ? 4.0 : window <= kSmallWindow ? 40.0 : 60.0;
  for_each_rows_block(rows, rolling_order_block_size(kind, window), window, ns, n_threads,
                      [&](std::ptrdiff_t r, std::ptrdiff_t begin, std::ptrdiff_t end) {
                        try {
                          rolling_order_block(
                              x + rows.x_offsets[r], rows.x_stride, window, min_periods, kind, q,
                              interp, out + rows.out_offsets[r], rows.out_stride, begin, end);
                        } catch (const std::bad_alloc&) {
                          failed.store(true, std::memory_order_relaxed);
                        }
                      });
  return failed.load() ? -1 : 0;
}

#define HOTLOOP_ROLLING_ORDER_ENTRY_POINTS(T)                                                    \
  template void rolling_order_block<T>(const T*, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, \
                                       RollingOrder, double, RollingInterpolation, T*,           \
                                       std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t);          \
  template int rolling_order_rows<T>(const T*, T*, const RollingRows&, std::ptrdiff_t,           \
                                     std::ptrdiff_t, RollingOrder, double, RollingInterpolation, \
                                     int) noexcept;
HOTLOOP_FOR_EACH_FLOAT(HOTLOOP_ROLLING_ORDER_ENTRY_POINTS)

}  // namespace hotloop
