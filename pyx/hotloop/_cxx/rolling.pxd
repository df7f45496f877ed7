# Declarations of cxx/include/hotloop/rolling.hpp. No logic here.

cdef extern from "hotloop/rolling.hpp" namespace "hotloop" nogil:
    enum class RollingStat(int):
        mean
        var
        std
        sum

    enum class RollingOrder(int):
        count
        min
        max
        argmin
        argmax
        median
        quantile
        rank
        rank_of_integers

    enum class RollingInterpolation(int):
        linear
        lower
        higher
        nearest
        midpoint

    struct RollingRows:
        Py_ssize_t rows
        Py_ssize_t n
        const Py_ssize_t* x_offsets
        Py_ssize_t x_stride
        const Py_ssize_t* out_offsets
        Py_ssize_t out_stride

    Py_ssize_t rolling_block_size(Py_ssize_t window) noexcept
    const Py_ssize_t kRollingTile
    const Py_ssize_t kRollingDirectSumMax
    const Py_ssize_t kRollingDirectVarMax
    Py_ssize_t rolling_order_block_size(RollingOrder kind, Py_ssize_t window) noexcept

    # T is float or double (the templates are instantiated for those two only).
    void rolling_moments_block[T](const T* x, Py_ssize_t x_stride,
                                  Py_ssize_t window, Py_ssize_t min_periods,
                                  Py_ssize_t ddof, RollingStat stat, T* out,
                                  Py_ssize_t out_stride, Py_ssize_t begin,
                                  Py_ssize_t end) noexcept
    void rolling_moments_rows[T](const T* x, T* out, const RollingRows& rows,
                                 Py_ssize_t window, Py_ssize_t min_periods, Py_ssize_t ddof,
                                 RollingStat stat, int n_threads) noexcept
    int rolling_order_rows[T](const T* x, T* out, const RollingRows& rows,
                              Py_ssize_t window, Py_ssize_t min_periods, RollingOrder kind,
                              double q, RollingInterpolation interpolation,
                              int n_threads) noexcept


# Shape statistics (rolling_shape.cpp) and pair statistics (rolling_pair.cpp).
cdef extern from "hotloop/rolling.hpp" namespace "hotloop" nogil:
    enum class RollingShape(int):
        skew
        kurt
        sem

    enum class RollingPair(int):
        cov
        corr

    # T is float or double.
    void rolling_shape_rows[T](const T* x, T* out, const RollingRows& rows,
                               Py_ssize_t window, Py_ssize_t min_periods, Py_ssize_t ddof,
                               RollingShape stat, int n_threads) noexcept
    void rolling_pair_rows[T](const T* x, const T* y, T* out, const RollingRows& rows,
                              const Py_ssize_t* y_offsets, Py_ssize_t y_stride,
                              Py_ssize_t window, Py_ssize_t min_periods, Py_ssize_t ddof,
                              RollingPair stat, int n_threads) noexcept

# Exponentially weighted statistics (rolling_ewm.cpp).
cdef extern from "hotloop/rolling.hpp" namespace "hotloop" nogil:
    enum class EwmStat(int):
        mean
        var
        std
        cov
        corr
        sum
        count

    struct EwmParams:
        double alpha
        bint adjust
        bint ignore_na
        bint bias
        bint numbagg
        Py_ssize_t min_periods
        double min_weight

    struct EwmOperands:
        const Py_ssize_t* y_offsets
        Py_ssize_t y_stride
        const Py_ssize_t* alpha_offsets
        Py_ssize_t alpha_stride

    void ewm_rows[T](const T* x, const T* y, const double* alphas, T* out,
                     const RollingRows& rows, const EwmOperands& more, EwmStat stat,
                     const EwmParams& p, int n_threads) noexcept
