"""Where the time under one function goes, from `perf record --call-graph dwarf` samples.

    perf record -e cpu-clock -F 4000 --call-graph dwarf,16384 -p <backend pid> -o x.data -- sleep 15
    perf script -i x.data > x.txt
    python3 scripts/perf_under.py enter_admitted 1 < x.txt

Of the samples whose stack holds a frame matching TARGET (a substring of the symbol), the
share of each frame DEPTH levels below its outermost occurrence (1: what TARGET calls),
with pgrx's error-boundary plumbing (run_guarded, sigsetjmp trampolines, closures) left
out, so a Rust function's callees show directly.  Developer tool (docs/development.md,
"Benchmarks and profiling"); not run by make test."""
import collections
import re
import sys

PLUMBING = re.compile(r"run_guarded|call_with_sigsetjmp|call_from_c_to_rust|pg_guard|closure|"
                      r"catch_unwind|panicking::try|do_call|FnOnce")


def stacks(lines):
    """Each sample's frames, innermost first, as symbol names."""
    frames = []
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith(("\t", " ")) and line.strip():
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                frames.append(re.sub(r"\+0x[0-9a-f]+$", "", parts[1].split(" (")[0]))
            continue
        if frames:
            yield frames
        frames = []
    if frames:
        yield frames


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    target, depth = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
    total = inside = 0
    below = collections.Counter()
    for frames in stacks(sys.stdin):
        total += 1
        hits = [i for i, f in enumerate(frames) if target in f]
        if not hits:
            continue
        inside += 1
        callees = [f for f in frames[:hits[-1]] if not PLUMBING.search(f)]
        below[callees[-depth] if len(callees) >= depth else "(self)"] += 1
    print(f"{total} samples, {inside} under {target} ({100 * inside / max(total, 1):.2f} %)")
    for name, n in below.most_common(40):
        print(f"{100 * n / max(inside, 1):6.1f} %  {name[:150]}")


if __name__ == "__main__":
    main()
