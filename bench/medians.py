#!/usr/bin/env python3
"""Rows of wrk_row.py from several rounds → a Markdown table of medians, with each
name's ratio to REFERENCE (a name measured in the same rounds).
Usage: python3 bench/medians.py ROWS_FILE REFERENCE DURATION CONNECTIONS ROUNDS [UNIT]"""
import statistics
import sys

rows_file, reference, duration, connections, rounds = sys.argv[1:6]
unit = sys.argv[6] if len(sys.argv) > 6 else "req/s"
rows = [l.split() for l in open(rows_file) if l.strip()]
names = list(dict.fromkeys(r[0] for r in rows))
med = {n: (statistics.median(float(r[1]) for r in rows if r[0] == n),
           statistics.median(float(r[2]) for r in rows if r[0] == n),
           sum(int(r[3]) for r in rows if r[0] == n)) for n in names}
ref = med[reference][0]
print(f"rounds={rounds} duration={duration} connections={connections}; reference: {reference} in the same rounds\n")
print(f"| name | {unit} (median) | p99 ms (median) | non-2xx | ratio to reference |")
print("|---|---|---|---|---|")
for n in names:
    rps, p99, bad = med[n]
    print(f"| {n} | {rps:.0f} | {p99:.2f} | {bad} | {rps / ref:.2f} |")
