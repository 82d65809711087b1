#!/usr/bin/env python3
"""Runs each command N times under /usr/bin/time -v (in rounds: every command once per round); prints a markdown row per command with
median wall time, median peak RSS, every run's wall time and exit codes. With --cpu (before RUNS)
a median CPU time column (user + sys, all threads) follows the wall time.
Usage: median_time.py [--cpu] RUNS 'label' -- cmd args ... [';;' 'label2' -- cmd2 ...]"""
import re, statistics, subprocess, sys

def timed(cmd):
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    wall = (int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))) if m else float("nan")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", p.stderr).group(1)) for k in ("User", "System"))
    return wall, rss, cpu, p.returncode

def main():
    args = sys.argv[1:]
    show_cpu = args[0] == "--cpu"
    if show_cpu:
        args = args[1:]
    runs = int(args[0])
    groups, cur = [], []
    for a in args[1:]:
        if a == ";;":
            groups.append(cur); cur = []
        else:
            cur.append(a)
    if cur:
        groups.append(cur)
    # Rounds of every command once, so a change in the machine's load falls on all of them alike.
    res = [([], [], [], []) for _ in groups]
    for _ in range(runs):
        for g, acc in zip(groups, res):
            for a, v in zip(acc, timed(g[2:])):
                a.append(v)
    for g, (walls, rss, cpus, rcs) in zip(groups, res):
        label = g[0]
        cpu = f" {statistics.median(cpus):.2f} |" if show_cpu else ""
        print(f"| {label} | {statistics.median(walls):.2f} |{cpu} {statistics.median(rss)/1024:.0f} | "
              f"{', '.join(f'{w:.2f}' for w in walls)} | {','.join(map(str, rcs))} |", flush=True)

if __name__ == "__main__":
    main()
