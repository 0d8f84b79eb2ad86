#pragma once
// zlib, for gzip-compressed IDX files (Debian: zlib1g-dev, pkg-config "zlib").
#include <zlib.h>
