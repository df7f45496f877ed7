/* Force-included (g++ -include) into every extension module of a Limited API build only
 * (HOTLOOP_LIMITED_API, tools/hotloop_build.py); a version-specific build never sees it.
 *
 * The wrappers use a few CPython fast paths that read object internals and are therefore not
 * part of the stable ABI. Here each becomes its stable-ABI function, with the same meaning at
 * the places the wrappers use them (the object's type was checked just before):
 *   PyFloat_AS_DOUBLE -> PyFloat_AsDouble, PyBytes_AS_STRING/GET_SIZE -> PyBytes_AsString/Size,
 *   PyByteArray_AS_STRING/GET_SIZE -> PyByteArray_AsString/Size,
 *   PyList_SET_ITEM on a new list -> PyList_SetItem (both steal the reference; the slot is
 *   empty, so SetItem's release of the old item releases nothing),
 *   PySequence_Fast_ITEMS -> an array of the borrowed items, filled with PyList_GetItem or
 *   PyTuple_GetItem into a per-thread buffer that lives until that thread's next call (the
 *   wrappers read it at once, with the GIL held, while the sequence is alive).
 * Each costs a function call per use where the fast path was a load: that is what the abi3
 * build is measured for (benchmarks/abi3_calls.py).
 */
#ifndef HOTLOOP_LIMITED_API_H
#define HOTLOOP_LIMITED_API_H

#include <Python.h>

#ifdef Py_LIMITED_API
#ifdef __cplusplus
#include <vector>

#undef PyFloat_AS_DOUBLE
#define PyFloat_AS_DOUBLE(o) PyFloat_AsDouble(o)
#undef PyBytes_AS_STRING
#define PyBytes_AS_STRING(o) PyBytes_AsString(o)
#undef PyBytes_GET_SIZE
#define PyBytes_GET_SIZE(o) PyBytes_Size(o)
#undef PyByteArray_AS_STRING
#define PyByteArray_AS_STRING(o) PyByteArray_AsString(o)
#undef PyByteArray_GET_SIZE
#define PyByteArray_GET_SIZE(o) PyByteArray_Size(o)
#undef PyList_SET_ITEM
#define PyList_SET_ITEM(l, i, o) ((void)PyList_SetItem((l), (i), (o)))

static inline PyObject** hotloop_limited_fast_items(PyObject* seq) {
  static thread_local std::vector<PyObject*> items;
  const bool is_list = PyList_Check(seq);
  const Py_ssize_t n = is_list ? PyList_Size(seq) : PyTuple_Size(seq);
  items.resize(n > 0 ? static_cast<size_t>(n) : 1);
  for (Py_ssize_t i = 0; i < n; ++i) {
    items[static_cast<size_t>(i)] = is_list ? PyList_GetItem(seq, i) : PyTuple_GetItem(seq, i);
  }
  return items.data();
}
#undef PySequence_Fast_ITEMS
#define PySequence_Fast_ITEMS(sf) hotloop_limited_fast_items(sf)
#endif /* __cplusplus */
#endif /* Py_LIMITED_API */
#endif /* HOTLOOP_LIMITED_API_H */
