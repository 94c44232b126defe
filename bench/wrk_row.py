#!/usr/bin/env python3
"""One wrk --latency output → one line "NAME rps p99_ms non2xx" (for medians.py).
Usage: python3 bench/wrk_row.py WRK_OUTPUT_FILE NAME"""
import re
import sys

t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
m = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", t)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
n = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
print(sys.argv[2], rps, p99, int(n.group(1)) if n else 0)
