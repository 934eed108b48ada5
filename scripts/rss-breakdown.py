#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Idle memory of spark-bridge, mapping by mapping, from /proc/PID/smaps.

Starts vllm-sim and a spark-bridge in front of it, both on 127.0.0.1 with ephemeral ports, on the
shipped etc/spark-bridge/config.yaml (api_base pointed at the simulator, listen and control socket
moved to a scratch directory), lets the daemon settle, and prints Rss, Pss, Private and Shared
per group of mappings: the binary itself, each shared library, heap, thread stacks, other anonymous
memory. With --rounds N it then sends N rounds of --requests (default 200) small requests, half of
them streamed, and prints the daemon's RSS after each round (the "no growth" check).

With --working-set it then asks the kernel to page out every file-backed page mapped by the daemon
alone (process_madvise(2) with MADV_PAGEOUT; pages other processes map stay) and prints the breakdown
again after one round of requests: what a serving daemon touches, as against what start-up alone
touched (argument parsing, config loading, library constructors, the first health probes). A
measurement only: the daemon itself never does this.

Usage: scripts/rss-breakdown.py [--bin DIR] [--settle S] [--rounds N] [--requests R] [--libs] [--working-set]
  DIR defaults to the release build (.build/release); build it with the Makefile's RELEASE_FLAGS
  to measure what ships.
"""
import argparse
import ctypes
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty")


def await_banner(name, proc, path, timeout=20.0):
    pattern = re.compile(rf"^{name} listening on (http://\S+)$", re.M)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path) as f:
            m = pattern.search(f.read())
        if m:
            return m.group(1)
        if proc.poll() is not None:
            sys.exit(f"rss-breakdown: {name} exited before listening (see {path})")
        time.sleep(0.05)
    sys.exit(f"rss-breakdown: {name} did not listen within {timeout} s")


def config_text(sim_url, control_socket):
    with open(os.path.join(ROOT, "etc/spark-bridge/config.yaml")) as f:
        text = f.read()
    text = text.replace("http://127.0.0.1:8000/v1", f"{sim_url}/v1")
    text = re.sub(r'listen: \["127\.0\.0\.1:4000"\]', 'listen: ["127.0.0.1:0"]', text)
    return text.replace("/run/spark-bridge/control.sock", control_socket)


def group_of(header, lib_detail):
    """The group a smaps mapping header line belongs to."""
    parts = header.split(None, 5)
    path = parts[5].strip() if len(parts) > 5 else ""
    if path.endswith("/spark-bridge"):
        perms = parts[1]
        kind = {"r-xp": "text", "r--p": "read-only", "rw-p": "data"}.get(perms, perms)
        return f"binary {kind}"
    if ".so" in path:
        return f"lib {os.path.basename(path)}" if lib_detail else "shared libraries"
    if path == "[heap]":
        return "heap"
    if path.startswith("[stack"):
        return "main stack"
    if path in ("[vdso]", "[vvar]", "[vsyscall]", "[vvar_vclock]"):
        return "kernel (vdso/vvar)"
    if path == "":
        return "anonymous"
    return f"other {path}"


def breakdown(pid, lib_detail):
    groups = {}
    current = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                current = groups.setdefault(group_of(line, lib_detail), dict.fromkeys(FIELDS, 0))
                continue
            key, _, rest = line.partition(":")
            if current is not None and key in FIELDS:
                current[key] += int(rest.split()[0])
    return groups


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1]
    return "?"


def vm_rss_mb(pid):
    return int(status_field(pid, "VmRSS")) / 1024


def print_breakdown(pid, lib_detail):
    groups = breakdown(pid, lib_detail)
    header = f"{'mapping group':<34}" + "".join(f"{k:>14}" for k in FIELDS)
    print(header)
    print("-" * len(header))
    totals = dict.fromkeys(FIELDS, 0)
    for name, g in sorted(groups.items(), key=lambda kv: -kv[1]["Rss"]):
        if g["Rss"] == 0:
            continue
        print(f"{name:<34}" + "".join(f"{g[k] / 1024:>11.2f} MB" for k in FIELDS))
        for k in FIELDS:
            totals[k] += g[k]
    print("-" * len(header))
    print(f"{'total':<34}" + "".join(f"{totals[k] / 1024:>11.2f} MB" for k in FIELDS))
    print(f"threads: {status_field(pid, 'Threads')}, VmRSS: {vm_rss_mb(pid):.2f} MB")


def one_request(conn, stream):
    body = json.dumps({
        "model": "claude-sonnet-4-5", "max_tokens": 16, "stream": stream,
        "messages": [{"role": "user", "content": "hello there"}],
    })
    conn.request("POST", "/v1/messages", body, {"content-type": "application/json"})
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"rss-breakdown: request answered {response.status}")


def connect(url):
    host, _, port = url.removeprefix("http://").rpartition(":")
    return http.client.HTTPConnection(host, int(port), timeout=30)


def one_round(conn, requests):
    """`requests` small requests, every second one streamed, then a moment for the daemon to settle."""
    for i in range(requests):
        one_request(conn, stream=(i % 2 == 1))
    time.sleep(0.5)


def rounds(pid, url, count, requests):
    print(f"\nrounds of {requests} requests (half streamed), RSS after each:")
    conn = connect(url)
    for n in range(1, count + 1):
        one_round(conn, requests)
        print(f"round {n:>3}: VmRSS {vm_rss_mb(pid):.2f} MB")
    conn.close()


SYS_PROCESS_MADVISE = 440  # x86_64 and aarch64 share it (asm-generic numbering since Linux 5.10)
MADV_PAGEOUT = 21


class IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


def page_out_file_mappings(pid):
    """MADV_PAGEOUT on every file-backed mapping of `pid` (needs CAP_SYS_NICE or the same user); the
    kernel skips pages that other processes map too. Returns how many mappings it was asked about."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    asked = 0
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                parts = line.split(None, 5)
                path = parts[5].strip() if len(parts) > 5 else ""
                if not path.startswith("/"):
                    continue
                low, high = (int(x, 16) for x in parts[0].split("-"))
                vector = IOVec(low, high - low)
                if libc.syscall(SYS_PROCESS_MADVISE, pidfd, ctypes.byref(vector), 1, MADV_PAGEOUT, 0) < 0:
                    errno = ctypes.get_errno()
                    sys.exit(f"rss-breakdown: process_madvise(MADV_PAGEOUT) on {path}: {os.strerror(errno)}")
                asked += 1
    finally:
        os.close(pidfd)
    return asked


def working_set(pid, url, requests, settle, lib_detail):
    asked = page_out_file_mappings(pid)
    print(f"\nfile-backed pages of {asked} mappings paged out: VmRSS {vm_rss_mb(pid):.2f} MB")
    time.sleep(settle)
    print(f"idle {settle:g} s later (health probes run): VmRSS {vm_rss_mb(pid):.2f} MB")
    conn = connect(url)
    one_round(conn, requests)
    conn.close()
    print(f"\nthe working set: after {requests} more requests (half streamed)")
    print_breakdown(pid, lib_detail)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of idleness before measuring")
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--libs", action="store_true", help="one line per shared library")
    parser.add_argument("--working-set", action="store_true",
                        help="page out the file-backed pages, then measure what serving touches again")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="rss-breakdown.")
    procs = []
    try:
        sim_out = os.path.join(scratch, "vllm-sim.out")
        with open(sim_out, "w") as out:
            sim = subprocess.Popen([os.path.join(args.bin, "vllm-sim"), "--host", "127.0.0.1", "--port", "0"],
                                   stdout=out, stderr=subprocess.STDOUT)
        procs.append(sim)
        sim_url = await_banner("vllm-sim", sim, sim_out)
        config = os.path.join(scratch, "config.yaml")
        with open(config, "w") as f:
            f.write(config_text(sim_url, os.path.join(scratch, "control.sock")))
        bridge_out = os.path.join(scratch, "spark-bridge.out")
        with open(bridge_out, "w") as out:
            bridge = subprocess.Popen([os.path.join(args.bin, "spark-bridge"), "--config", config],
                                      stdout=out, stderr=subprocess.STDOUT)
        procs.append(bridge)
        url = await_banner("spark-bridge", bridge, bridge_out)
        time.sleep(args.settle)
        print(f"spark-bridge {os.path.join(args.bin, 'spark-bridge')} idle {args.settle:g} s after start, pid {bridge.pid}")
        print_breakdown(bridge.pid, args.libs)
        if args.rounds:
            rounds(bridge.pid, url, args.rounds, args.requests)
            time.sleep(args.settle)
            print(f"\nafter the rounds, idle {args.settle:g} s:")
            print_breakdown(bridge.pid, args.libs)
        if args.working_set:
            working_set(bridge.pid, url, args.requests, args.settle, args.libs)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
