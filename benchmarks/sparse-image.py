#!/usr/bin/env python3
"""The benchmarks' test disk: a sparse raw image with ~40 % random data in fixed-size regions (fixed seed).

Usage: sparse-image.py PATH SIZE_BYTES [REGION_BYTES (default 262144)] [SEED (default 1234)]
"""
import random
import sys

path, size = sys.argv[1], int(sys.argv[2])
region = int(sys.argv[3]) if len(sys.argv) > 3 else 256 * 1024
r = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1234)
with open(path, "wb") as f:
    f.truncate(size)
    for off in range(0, size, region):
        if r.random() < 0.4:
            f.seek(off)
            f.write(r.randbytes(region))
