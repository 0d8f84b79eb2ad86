#pragma once
// OpenBLAS CBLAS interface (Debian: libopenblas-dev, pkg-config "openblas"; also declares openblas_set_num_threads).
#include <cblas.h>
