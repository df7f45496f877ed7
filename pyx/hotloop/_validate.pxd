# Argument checks shared by every wrapper (cimport them; see _validate.pyx for the rules).

cdef object as_float_array(object x, str name, int max_ndim)
cdef Py_ssize_t as_count(object value, str name, Py_ssize_t lowest) except -1
