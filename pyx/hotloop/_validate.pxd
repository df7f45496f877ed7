# Argument checks shared by every wrapper (cimport them; see _validate.pyx for the rules).

cdef enum:
    # What float_kind returns for arrays the float kernels can read directly.
    FLOAT64 = 1
    FLOAT32 = 2

cdef int float_kind(object x) noexcept
cpdef object as_float_array(object x, str name, int min_ndim, int max_ndim)
cpdef object as_complex_array(object x, str name)
cpdef object check_out(object out, object arr, str like, bint overlap_ok=*)
cpdef Py_ssize_t as_int(object value, str name, Py_ssize_t lo, Py_ssize_t hi=*) except? -1
cpdef object as_pyint(object value, str name, Py_ssize_t lo)
cpdef str abbreviate(object value)
cpdef str float_overflow_message(str where, object value, str dtype=*)
cpdef int threads_for(object n_threads, Py_ssize_t n_tasks) except -1
cpdef double as_real(object value, str name) except? -1.0
cpdef complex as_complex(object value, str name) except *
cpdef tuple as_pair(object lim, str name)
cdef int get_byte_buffer(object obj, Py_buffer* view, str name, bint writable,
                         Py_ssize_t length) except -1
cpdef bytes as_bytes_of(object obj, str name, Py_ssize_t length)
cpdef bytes as_path(object path, str name)
