# The thread-count helper, cimportable by every parallel module.

cpdef int effective_n_threads(object n_threads) except -1
