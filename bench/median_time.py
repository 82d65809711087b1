#!/usr/bin/env python3
"""Runs each command N times under /usr/bin/time -v; prints a markdown row per command with
median wall time, median peak RSS, every run's wall time and exit codes.
Usage: median_time.py RUNS 'label' -- cmd args ... [';;' 'label2' -- cmd2 ...]"""
import re, statistics, subprocess, sys

def timed(cmd):
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    wall = (int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))) if m else float("nan")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return wall, rss, p.returncode

def main():
    runs = int(sys.argv[1])
    groups, cur = [], []
    for a in sys.argv[2:]:
        if a == ";;":
            groups.append(cur); cur = []
        else:
            cur.append(a)
    if cur:
        groups.append(cur)
    for g in groups:
        label, cmd = g[0], g[2:]
        walls, rss, rcs = [], [], []
        for _ in range(runs):
            w, r, rc = timed(cmd)
            walls.append(w); rss.append(r); rcs.append(rc)
        print(f"| {label} | {statistics.median(walls):.2f} | {statistics.median(rss)/1024:.0f} | "
              f"{', '.join(f'{w:.2f}' for w in walls)} | {','.join(map(str, rcs))} |", flush=True)

if __name__ == "__main__":
    main()
