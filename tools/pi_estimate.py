"""Per-layer-type instruction counts of one frame on AArch64, and from them
a Raspberry Pi 4 / Pi 5 frame-time estimate. Run by scripts/count-instructions.

usage: pi_estimate.py WORKDIR IMAGE_NAME [aarch64|armhf]
WORKDIR holds count1.txt and count3.txt (tools/qemu_insn_count.c's output
for 1 and 3 frames), qemu1.log and qemu3.log (QEMU's -d page,strace, for
where the program and its libraries were mapped) and symbols.txt (nm -n of
the program). Per frame = (3 frames - 1 frame) / 2.
"""
import bisect, re, sys
from collections import defaultdict

work, image = sys.argv[1], sys.argv[2]
arch = sys.argv[3] if len(sys.argv) > 3 else "aarch64"

# Function name -> layer type (the kernels' static functions keep their
# names in the unstripped cross build).
RULES = [
    (r"^stem_|conv3x3s2_stem", "stem 3x3 stride-2 conv"),
    (r"^pw_|^gemm_|pwconv", "1x1 conv (expand, project, head)"),
    (r"^dw_s1", "depthwise 3x3 stride 1"),
    (r"^dw_s2", "depthwise 3x3 stride 2"),
    (r"^small_|^conv_", "head k x k conv (extra feature maps)"),
    (r"_ref$|^add_f32|^concat|^logistic", "reference and element-wise kernels"),
    (r"^preprocess|^image_|^resize|^frame_", "pre-processing (resize, normalize)"),
    (r"^ssd|^nms|^anchor|^detect|^decode|^sigmoid|^report", "post-processing (decode, NMS)"),
]
LIBS = [("libgomp", "OpenMP runtime"), ("libc.so", "C library (memcpy, memset, ...)"),
        ("libm.so", "math library"), ("libstb", "image file decoding (not per frame on a camera)")]


def mappings(log):
    """(start, end, name) of the program and its shared libraries."""
    maps, prog, fds = [], None, {}
    for line in open(log, errors="replace"):
        if prog is None:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) +[0-9a-f]+ +r-x", line)
            # (0xffff0000 on 32-bit Arm: the kernel's helper page, not the program)
            if m and int(m.group(1), 16) != 0xFFFF0000:
                prog = (int(m.group(1), 16), int(m.group(2), 16), "program")
        m = re.search(r'openat\(AT_FDCWD,"([^"]+)",[^)]*\) = (\d+)', line)
        if m:
            fds[m.group(2)] = m.group(1)
        m = re.search(r"mmap2?\((0x[0-9a-f]+),(\d+),PROT_EXEC\|PROT_READ,[^,]+,(\d+),", line)
        if m and m.group(3) in fds:
            start = int(m.group(1), 16)
            maps.append((start, start + int(m.group(2)), fds[m.group(3)]))
    return ([prog] if prog else []) + maps


symbols = []
for line in open(f"{work}/symbols.txt"):
    parts = line.split()
    if len(parts) == 3 and parts[1] in "tTwW":
        symbols.append((int(parts[0], 16), parts[2]))
sym_addr = [a for a, _ in symbols]


def category(addr, maps):
    for start, end, name in maps:
        if start <= addr < end:
            if name == "program":
                i = bisect.bisect_right(sym_addr, addr - start) - 1
                fn = symbols[i][1] if i >= 0 else "?"
                for pattern, cat in RULES:
                    if re.search(pattern, fn):
                        return cat
                return "executor and the rest of the program"
            for key, cat in LIBS:
                if key in name:
                    return cat
            return "other libraries"
    return "dynamic loader and start-up"


def totals(n):
    maps = mappings(f"{work}/qemu{n}.log")
    t = defaultdict(lambda: [0, 0, 0, 0])
    for line in open(f"{work}/count{n}.txt"):
        if line.startswith("#"):
            continue
        vaddr, insns, fma, loads, stores, runs = line.split()
        c, runs = t[category(int(vaddr, 16), maps)], int(runs)
        for k, v in enumerate((insns, fma, loads, stores)):
            c[k] += int(v) * runs
    return t


one, three = totals(1), totals(3)
frame = {}
for cat in set(one) | set(three):
    d = [(three[cat][k] - one[cat][k]) / 2 for k in range(4)]
    if d[0] > 0.05e6:
        frame[cat] = d
# a camera delivers pixels: decoding the picture file is not part of a frame
DECODE = "image file decoding (not per frame on a camera)"
decode = frame.pop(DECODE, None)
total = [sum(v[k] for v in frame.values()) for k in range(4)]

# Published core figures (Arm's Software Optimization Guides; see
# docs/raspberry-pi.md): instructions issued per cycle, 128-bit FMAs per
# cycle, loads and stores per cycle, clock.
CORES = {
    "Pi 4 (Cortex-A72, 1.5 GHz)": dict(issue=3, fma=1, load=1, store=1, mem=2, ghz=1.5),
    "Pi 5 (Cortex-A76, 2.4 GHz)": dict(issue=4, fma=2, load=2, store=1, mem=2, ghz=2.4),
}


def bound_cycles(v, core):
    insns, fma, loads, stores = v
    return max(insns / core["issue"], fma / core["fma"], loads / core["load"], stores / core["store"],
               (loads + stores) / core["mem"])


print(f"{arch} instructions of one frame ({image}, 1 thread, NEON kernels), per layer type:\n")
print(f"| layer type | instructions (M) | FMA (M) | loads (M) | stores (M) | share |")
print(f"|---|---:|---:|---:|---:|---:|")
for cat, v in sorted(frame.items(), key=lambda kv: -kv[1][0]):
    print(f"| {cat} | {v[0] / 1e6:.1f} | {v[1] / 1e6:.1f} | {v[2] / 1e6:.1f} | {v[3] / 1e6:.1f} | "
          f"{100 * v[0] / total[0]:.1f}% |")
print(f"| **all** | **{total[0] / 1e6:.1f}** | {total[1] / 1e6:.1f} | {total[2] / 1e6:.1f} | "
      f"{total[3] / 1e6:.1f} | 100% |")
if decode:
    print(f"\n(not counted above: decoding the picture file, {decode[0] / 1e6:.1f} M instructions)")
print(f"Check: {total[1] / 1e6:.1f} M FMAs x 4 lanes = {4 * total[1] / 1e9:.3f} G multiply-adds "
      f"(mnv2det bench prints the model's own count)")

if arch != "aarch64":
    sys.exit(0)  # the core figures below are for AArch64 code

EFFICIENCY = 0.5   # achieved fraction of the throughput bound (assumed; see the guide)
PARALLEL = 0.8     # 4-thread speed-up / 4 (assumed; see the guide)
print("\nFrame time estimate (lower bound: every instruction class at its published peak rate;\n"
      f"expected: the bound at {EFFICIENCY:.0%} of peak; 4 threads: {PARALLEL:.0%} parallel efficiency):\n")
print("| board | bound, 1 thread | expected, 1 thread | expected, 4 threads |")
print("|---|---:|---:|---:|")
for name, core in CORES.items():
    cycles = sum(bound_cycles(v, core) for v in frame.values())
    ms = cycles / (core["ghz"] * 1e9) * 1e3
    print(f"| {name} | {ms:.0f} ms | {ms / EFFICIENCY:.0f} ms | {ms / EFFICIENCY / (4 * PARALLEL):.0f} ms |")
