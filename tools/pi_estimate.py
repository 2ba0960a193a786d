"""Per-layer-type instruction counts of one frame on AArch64, and from them
a Raspberry Pi 4 / Pi 5 frame-time estimate. Run by scripts/count-instructions.

usage: pi_estimate.py WORKDIR IMAGE_NAME [aarch64|armhf] [float32|int8 [QEMU_CPU]]
WORKDIR holds count1.txt and count3.txt (tools/qemu_insn_count.c's output
for 1 and 3 frames), qemu1.log and qemu3.log (QEMU's -d page,strace, for
where the program and its libraries were mapped) and symbols.txt (nm -n of
the program). Per frame = (3 frames - 1 frame) / 2.
int8: the counts are of the int8 model (mnv2det --int8); QEMU_CPU (max or
cortex-a72) says which Arm int8 kernels ran: with the dot product (max: the
Pi 5's Cortex-A76) or without (cortex-a72: the Pi 4). The float32 output is
unchanged by these additions.
"""
import bisect, re, sys
from collections import defaultdict

work, image = sys.argv[1], sys.argv[2]
arch = sys.argv[3] if len(sys.argv) > 3 else "aarch64"
precision = sys.argv[4] if len(sys.argv) > 4 else "float32"
qemu_cpu = sys.argv[5] if len(sys.argv) > 5 else "max"
INT8 = precision == "int8"

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
# The int8 model's functions (checked before the rules above). The Arm 1x1 and
# depthwise kernels (conv1x1_qs8_nhwc_neon[dot], dwconv3x3s{1,2}_qs8_nhwc_neon[dot])
# do their work in static helpers of the same names in the neon and neondot
# files (kernels_q8_neon.inc, kernels_q8_neon_dw.inc): conv1x1_tiles,
# dw_rows_s1, dw_rows_s2; only one of the two files' runs per CPU model. The
# general convolutions (stem, head k x k) run conv2d_qs8_nhwc_neon[dot]
# (conv2d_tiles with the gather q8_gather, conv2d_tile: the 1x1 tile's own
# copy), or conv2d_qs8_nhwc_ref where those refuse a layer; quant_*
# (backbone/quant.c) is TFLite's requantization arithmetic, called per output
# by the reference convolution and three times per element by add_qs8_ref.
INT8_RULES = [
    (r"^conv1x1_|^q8_tile|^q8_pack_block", "int8 1x1 conv (expand, project, head)"),
    (r"^conv2d_tile|^q8_gather|^conv2d_run|^conv2d_qs8_nhwc_neon",
     "int8 general conv, NEON (stem 3x3 s2, head k x k)"),
    (r"^dw_rows_s1|^dwconv3x3s1_qs8", "int8 depthwise 3x3 stride 1"),
    (r"^dw_rows_s2|^dwconv3x3s2_qs8", "int8 depthwise 3x3 stride 2"),
    (r"^dw_|^dot_interior|^dwconv2d_qs8", "int8 depthwise 3x3 (other helpers)"),
    (r"^conv2d_qs8_nhwc_ref|^ref_run_conv", "int8 general conv, reference C (stem 3x3 s2, head k x k)"),
    (r"^quant_multiply|^quant_srdhm|^quant_rounding_shift|^quant_requantize",
     "int8 requantization calls, plain C (quant_*: reference conv and add)"),
    (r"^add_qs8|^requantize_qs8|^concat_qs8|^lut_qs8|^logistic_qs8|^q8_elementwise|^run_q8_elementwise",
     "int8 element-wise, plain C (add, requantize, concat, logistic)"),
    (r"^quant_|^q8_|quantize|dequantize", "quantize / dequantize (float <-> int8), plain C"),
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
                for pattern, cat in (INT8_RULES + RULES if INT8 else RULES):
                    if re.search(pattern, fn):
                        return cat
                return "executor and the rest of the program"
            for key, cat in LIBS:
                if key in name:
                    return cat
            return "other libraries"
    return "dynamic loader and start-up"


per_function = defaultdict(lambda: [0, 0])  # int8: function -> instructions of 1 and 3 frames


def function_name(addr, maps):
    for start, end, name in maps:
        if start <= addr < end and name == "program":
            i = bisect.bisect_right(sym_addr, addr - start) - 1
            return symbols[i][1] if i >= 0 else "?"
    return None


# Columns: instructions, FMA, loads, stores, then (newer plugin; 0 if absent)
# dot products, SIMD integer multiplies, instructions on the FP/ASIMD pipes.
NCOL = 7


def totals(n):
    maps = mappings(f"{work}/qemu{n}.log")
    t = defaultdict(lambda: [0] * NCOL)
    for line in open(f"{work}/count{n}.txt"):
        if line.startswith("#"):
            continue
        vaddr, insns, fma, loads, stores, runs, *extra = line.split()
        extra = (extra + ["0"] * 3)[:3]
        c, runs = t[category(int(vaddr, 16), maps)], int(runs)
        for k, v in enumerate((insns, fma, loads, stores, *extra)):
            c[k] += int(v) * runs
        if INT8:
            fn = function_name(int(vaddr, 16), maps)
            if fn:
                per_function[fn][n == 3] += int(insns) * runs
    return t


one, three = totals(1), totals(3)
frame = {}
for cat in set(one) | set(three):
    d = [(three[cat][k] - one[cat][k]) / 2 for k in range(NCOL)]
    if d[0] > 0.05e6:
        frame[cat] = d
# a camera delivers pixels: decoding the picture file is not part of a frame
DECODE = "image file decoding (not per frame on a camera)"
decode = frame.pop(DECODE, None)
total = [sum(v[k] for v in frame.values()) for k in range(NCOL)]

# Published core figures (Arm's Software Optimization Guides; see
# docs/raspberry-pi.md): instructions issued per cycle, 128-bit FMAs per
# cycle, loads and stores per cycle, clock.
CORES = {
    "Pi 4 (Cortex-A72, 1.5 GHz)": dict(issue=3, fma=1, load=1, store=1, mem=2, ghz=1.5),
    "Pi 5 (Cortex-A76, 2.4 GHz)": dict(issue=4, fma=2, load=2, store=1, mem=2, ghz=2.4),
}


# int8 (AArch64, as we read the Software Optimization Guides; see
# docs/raspberry-pi.md): both cores have two FP/ASIMD pipes (A72: F0, F1;
# A76: V0, V1) that every SIMD&FP instruction issues to; SIMD integer
# multiplies (SMULL, SMLAL, MUL, SQRDMULH, ...) run on one of them (A72: F0;
# A76: V0), one per cycle; SDOT (16 int8 multiply-adds into 4 int32) runs on
# both of the A76's, two per cycle. The A72 has no SDOT.
INT8_RATES = {
    "Pi 4 (Cortex-A72, 1.5 GHz)": dict(fpsimd=2, imul=1, dot=None),
    "Pi 5 (Cortex-A76, 2.4 GHz)": dict(fpsimd=2, imul=1, dot=2),
}
# which board each QEMU CPU model's kernels stand for
INT8_BOARD = {"max": "Pi 5 (Cortex-A76, 2.4 GHz)", "cortex-a72": "Pi 4 (Cortex-A72, 1.5 GHz)"}


def bound_cycles(v, core):
    insns, fma, loads, stores = v[:4]
    return max(insns / core["issue"], fma / core["fma"], loads / core["load"], stores / core["store"],
               (loads + stores) / core["mem"])


def bound_cycles_int8(v, core, rates):
    dot, imul, fpsimd = v[4:7]
    if dot and not rates["dot"]:
        sys.exit("pi_estimate: dot products counted, but this core has none")
    return max(bound_cycles(v, core), fpsimd / rates["fpsimd"], imul / rates["imul"],
               dot / rates["dot"] if dot else 0)


if INT8:
    print(f"{arch} instructions of one int8 frame ({image}, 1 thread, QEMU_CPU={qemu_cpu}), per layer type:\n")
    print("| layer type | instructions (M) | SDOT (M) | SIMD int multiply (M) | FP/SIMD (M) | loads (M) "
          "| stores (M) | share |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for cat, v in sorted(frame.items(), key=lambda kv: -kv[1][0]):
        print(f"| {cat} | {v[0] / 1e6:.1f} | {v[4] / 1e6:.1f} | {v[5] / 1e6:.1f} | {v[6] / 1e6:.1f} | "
              f"{v[2] / 1e6:.1f} | {v[3] / 1e6:.1f} | {100 * v[0] / total[0]:.1f}% |")
    print(f"| **all** | **{total[0] / 1e6:.1f}** | {total[4] / 1e6:.1f} | {total[5] / 1e6:.1f} | "
          f"{total[6] / 1e6:.1f} | {total[2] / 1e6:.1f} | {total[3] / 1e6:.1f} | 100% |")
    if decode:
        print(f"\n(not counted above: decoding the picture file, {decode[0] / 1e6:.1f} M instructions)")
    if total[1]:
        print(f"(float FMAs in the frame: {total[1] / 1e6:.2f} M)")
    print("\nTop functions (instructions per frame, M):")
    top = sorted(((c[1] - c[0]) / 2, fn) for fn, c in per_function.items())[::-1][:15]
    for c, fn in top:
        if c > 0.1e6:
            print(f"  {c / 1e6:8.1f}  {fn}")
else:
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
boards = CORES
if INT8:
    if qemu_cpu not in INT8_BOARD:
        sys.exit(f"pi_estimate: no board for QEMU_CPU={qemu_cpu} (max: Pi 5, cortex-a72: Pi 4)")
    boards = {INT8_BOARD[qemu_cpu]: CORES[INT8_BOARD[qemu_cpu]]}
    print("| board | bound, 1 thread | expected, 1 thread | expected, 4 threads | bound by layer type (ms) |")
    print("|---|---:|---:|---:|---|")
else:
    print("| board | bound, 1 thread | expected, 1 thread | expected, 4 threads |")
    print("|---|---:|---:|---:|")
for name, core in boards.items():
    if INT8:
        per = {cat: bound_cycles_int8(v, core, INT8_RATES[name]) / (core["ghz"] * 1e6) for cat, v in frame.items()}
        ms = sum(per.values())
        parts = ", ".join(f"{cat.split(' (')[0].split(',')[0]} {t:.1f}" for cat, t in
                          sorted(per.items(), key=lambda kv: -kv[1]) if t >= 0.1)
        print(f"| {name} | {ms:.0f} ms | {ms / EFFICIENCY:.0f} ms | {ms / EFFICIENCY / (4 * PARALLEL):.0f} ms "
              f"| {parts} |")
        continue
    cycles = sum(bound_cycles(v, core) for v in frame.values())
    ms = cycles / (core["ghz"] * 1e9) * 1e3
    print(f"| {name} | {ms:.0f} ms | {ms / EFFICIENCY:.0f} ms | {ms / EFFICIENCY / (4 * PARALLEL):.0f} ms |")
