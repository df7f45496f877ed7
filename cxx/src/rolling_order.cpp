// Moving-window order statistics and counts: see rolling.hpp for the conventions.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <vector>

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

// Streaming min/max with a monotonic deque of positions (Lemire, "Streaming maximum-minimum
// filter using no more than three comparisons per element", 2006): the deque's values increase
// (min) from front to back, so the front is the window's extreme. A new value removes the back
// entries it beats or ties (ties go to the latest, bottleneck's convention); each position enters
// and leaves once: O(1) amortised per output whatever the window.
template <class T, bool MAX, bool ARG>
void minmax_block(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, std::ptrdiff_t minp, T* out,
                  std::ptrdiff_t os, std::ptrdiff_t begin, std::ptrdiff_t end) {
  const std::ptrdiff_t first = std::max<std::ptrdiff_t>(0, begin - W + 1);
  // Ring buffer of (value, position), a power of two long so that wrapping is a mask; head and
  // tail only grow. It never holds more than min(W, block) + 1 entries.
  std::ptrdiff_t cap = 1;
  while (cap < std::min(W, end - first) + 1) cap *= 2;
  const std::ptrdiff_t mask = cap - 1;
  struct Entry {
    T v;
    std::ptrdiff_t pos;
  };
  std::vector<Entry> ring(static_cast<std::size_t>(cap));
  Entry* q = ring.data();
  std::ptrdiff_t head = 0, tail = 0, cnt = 0;
  const std::ptrdiff_t need = at_least_one(minp);
  for (std::ptrdiff_t i = first; i < end; ++i) {
    const T v = x[i * xs];
    if (v == v) {
      ++cnt;
      while (tail > head && (MAX ? q[(tail - 1) & mask].v <= v : q[(tail - 1) & mask].v >= v)) {
        --tail;
      }
      q[tail & mask] = Entry{v, i};
      ++tail;
    }
    if (i - W >= first) {
      const T old = x[(i - W) * xs];
      cnt -= old == old;
    }
    if (tail > head && q[head & mask].pos <= i - W) ++head;  // at most one expires per step
    if (i >= begin) {
      T r = static_cast<T>(kNaN);
      if (cnt >= need) r = ARG ? static_cast<T>(i - q[head & mask].pos) : q[head & mask].v;
      out[i * os] = r;
    }
  }
}

// Fenwick (binary indexed) tree of counts over the ranks 0..m-1 of a block's sorted values.
class Fenwick {
 public:
  explicit Fenwick(std::ptrdiff_t m) : t_(static_cast<std::size_t>(m) + 1, 0) {
    top_ = 1;
    while (top_ * 2 <= m) top_ *= 2;
  }
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
  // Rank of the k-th entry (k = 0, 1, ...), k < total.
  std::ptrdiff_t kth(std::int32_t k) const noexcept {
    const std::ptrdiff_t m = static_cast<std::ptrdiff_t>(t_.size()) - 1;
    std::ptrdiff_t pos = 0;
    for (std::ptrdiff_t step = top_; step > 0; step /= 2) {
      const std::ptrdiff_t nxt = pos + step;
      if (nxt <= m && t_[nxt] <= k) {
        pos = nxt;
        k -= t_[nxt];
      }
    }
    return pos;  // 1-based pos + 1 holds the entry: rank pos
  }

 private:
  std::vector<std::int32_t> t_;
  std::ptrdiff_t top_;
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

// Short windows: the window's non-NaN values kept sorted in a small array (insertion and removal
// move at most `window` values, cheaper than the tree's log-depth walks up to a few hundred).
// Equal values stay in arrival order, so the one leaving is the first of its run: the same
// order as the tree's (value, position) ranks, hence the same outputs bit for bit.
constexpr std::ptrdiff_t kSmallWindow = 192;

template <class T>
void small_sorted_block(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, std::ptrdiff_t minp,
                        RollingOrder kind, double q, RollingInterpolation interp, T* out,
                        std::ptrdiff_t os, std::ptrdiff_t begin, std::ptrdiff_t end) {
  const std::ptrdiff_t first = std::max<std::ptrdiff_t>(0, begin - W + 1);
  std::vector<double> store(static_cast<std::size_t>(W) + 1);
  double* buf = store.data();
  std::int32_t m = 0;
  const std::ptrdiff_t need = at_least_one(minp);
  const bool rank = kind == RollingOrder::rank || kind == RollingOrder::rank_of_integers;
  for (std::ptrdiff_t i = first; i < end; ++i) {
    const double v = static_cast<double>(x[i * xs]);
    const double old = i - W >= first ? static_cast<double>(x[(i - W) * xs]) : kNaN;
    if (v == v && old == old) {
      // Full window: one pass moves only the values between the leaving and the new one.
      const std::ptrdiff_t out_at = std::lower_bound(buf, buf + m, old) - buf;
      const std::ptrdiff_t in_at = std::upper_bound(buf, buf + m, v) - buf;
      if (in_at > out_at) {
        for (std::ptrdiff_t k = out_at; k < in_at - 1; ++k) buf[k] = buf[k + 1];
        buf[in_at - 1] = v;
      } else {
        for (std::ptrdiff_t k = out_at; k > in_at; --k) buf[k] = buf[k - 1];
        buf[in_at] = v;
      }
    } else {
      if (v == v) {
        const std::ptrdiff_t p = std::upper_bound(buf, buf + m, v) - buf;
        for (std::ptrdiff_t k = m; k > p; --k) buf[k] = buf[k - 1];
        buf[p] = v;
        ++m;
      }
      if (old == old) {
        const std::ptrdiff_t p = std::lower_bound(buf, buf + m, old) - buf;
        for (std::ptrdiff_t k = p; k < m - 1; ++k) buf[k] = buf[k + 1];
        --m;
      }
    }
    if (i < begin) continue;
    double r = kNaN;
    if (m >= need) {
      if (rank) {
        if (v == v) {
          if (m == 1) {
            r = 0.0;
          } else {
            const auto lo = static_cast<std::int32_t>(std::lower_bound(buf, buf + m, v) - buf);
            const auto hi = static_cast<std::int32_t>(std::upper_bound(buf, buf + m, v) - buf);
            r = rank_value<T>(lo, hi - lo, m, kind == RollingOrder::rank_of_integers && i >= W, W);
          }
        }
      } else {
        r = quantile_of([&](std::int32_t k) { return buf[k]; }, m, kind, q, interp);
      }
    }
    out[i * os] = static_cast<T>(r);
  }
}

// median, quantile, rank: the block's non-NaN values sorted once, the window kept as a set of
// ranks in a Fenwick tree.
template <class T>
void sorted_block(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, std::ptrdiff_t minp,
                  RollingOrder kind, double q, RollingInterpolation interp, T* out,
                  std::ptrdiff_t os, std::ptrdiff_t begin, std::ptrdiff_t end) {
  const std::ptrdiff_t first = std::max<std::ptrdiff_t>(0, begin - W + 1);
  const std::ptrdiff_t len = end - first;
  std::vector<std::int32_t> order;  // positions (relative to first) of non-NaN values
  order.reserve(static_cast<std::size_t>(len));
  for (std::ptrdiff_t i = 0; i < len; ++i) {
    const T v = x[(first + i) * xs];
    if (v == v) order.push_back(static_cast<std::int32_t>(i));
  }
  // Ties by position: a strict weak order (-0.0 and 0.0 are equal values, as in comparisons).
  std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
    const T va = x[(first + a) * xs], vb = x[(first + b) * xs];
    return va < vb || (!(vb < va) && a < b);
  });
  const std::ptrdiff_t m = static_cast<std::ptrdiff_t>(order.size());
  std::vector<std::int32_t> rank(static_cast<std::size_t>(len), -1);
  std::vector<double> sorted(static_cast<std::size_t>(m));
  for (std::ptrdiff_t r = 0; r < m; ++r) {
    rank[order[r]] = static_cast<std::int32_t>(r);
    sorted[r] = static_cast<double>(x[(first + order[r]) * xs]);
  }
  // For rank: the first and one-past-last rank of each group of equal values.
  std::vector<std::int32_t> lo, hi;
  if (kind == RollingOrder::rank || kind == RollingOrder::rank_of_integers) {
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
  Fenwick f(m > 0 ? m : 1);
  std::int32_t cnt = 0;
  const std::ptrdiff_t need = at_least_one(minp);
  for (std::ptrdiff_t i = 0; i < len; ++i) {
    if (rank[i] >= 0) {
      f.add(rank[i], 1);
      ++cnt;
    }
    if (i - W >= 0 && rank[i - W] >= 0) {
      f.add(rank[i - W], -1);
      --cnt;
    }
    if (first + i < begin) continue;
    double r = kNaN;
    if (cnt >= need) {
      if (kind == RollingOrder::rank || kind == RollingOrder::rank_of_integers) {
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
        r = quantile_of([&](std::int32_t k) { return sorted[f.kth(k)]; }, cnt, kind, q, interp);
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
      return minmax_block<T, false, false>(x, xs, W, minp, out, os, begin, end);
    case RollingOrder::max:
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
  const std::ptrdiff_t n = rows.n;
  if (rows.rows <= 0 || n <= 0) return 0;
  const std::ptrdiff_t block = rolling_order_block_size(kind, window);
  const std::ptrdiff_t nblocks = (n + block - 1) / block;
  const bool sorted = kind == RollingOrder::median || kind == RollingOrder::quantile ||
                      kind == RollingOrder::rank || kind == RollingOrder::rank_of_integers;
  // One-core costs measured by cxx/bench/rolling_benchmark, rounded up.
  const std::ptrdiff_t per_task = (n < block ? n : block) + (window < n ? window : n);
  const std::ptrdiff_t grain = rolling_rows_grain(per_task, sorted ? 60.0 : 4.0);
  std::atomic<bool> failed{false};
  parallel_for(rows.rows * nblocks, n_threads, grain, [&](std::ptrdiff_t t0, std::ptrdiff_t t1) {
    for (std::ptrdiff_t t = t0; t < t1; ++t) {
      const std::ptrdiff_t r = t / nblocks;
      const std::ptrdiff_t b = (t % nblocks) * block;
      try {
        rolling_order_block(x + rows.x_offsets[r], rows.x_stride, window, min_periods, kind, q,
                            interp, out + rows.out_offsets[r], rows.out_stride, b,
                            b + block < n ? b + block : n);
      } catch (const std::bad_alloc&) {
        failed.store(true, std::memory_order_relaxed);
      }
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
