#pragma once
// CHOLMOD 3.0 from SuiteSparse 5.12 (Debian: libsuitesparse-dev; headers under suitesparse/).
// The MatrixOps module (cholmod_sdmult) is GPL-2.0+: only the optional ReliefKernelsCHOLMOD target uses it.
#include <suitesparse/cholmod.h>
