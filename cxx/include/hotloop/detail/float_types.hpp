// The floating-point types that the float kernel families are compiled for, listed once.
//
// A family declares its entry points as templates in its header and defines them in its .cpp,
// which instantiates them with HOTLOOP_FOR_EACH_FLOAT(X): X(float) X(double). The list matches
// Cython's fused type `floating` (float, double), the one the wrappers dispatch on, so adding or
// removing a type is one line here and one in the wrappers' dtype check; no family keeps its own
// float/double copies of a function.
#pragma once

#define HOTLOOP_FOR_EACH_FLOAT(X) X(float) X(double)
