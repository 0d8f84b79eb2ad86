#pragma once
// CXSparse from SuiteSparse 5.12 (Debian: libsuitesparse-dev; headers under suitesparse/, no pkg-config file).
// LGPL-2.1+.
#include <suitesparse/cs.h>
