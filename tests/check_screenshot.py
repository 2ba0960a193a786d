#!/usr/bin/env python3
"""A screenshot of mnv2det's window against the detections printed for the
frame it shows.

  check_screenshot.py SHOT.png FRAMES.jsonl FRAME TEST_DISPLAY

SHOT.png: the window's screenshot (the s key); FRAMES.jsonl: the run's
--json lines; FRAME: the frame number the screenshot line named;
TEST_DISPLAY: the test_display program, whose `palette` mode prints each
class's box colour as the display code has it.

The picture is letterboxed into the window (centred, aspect kept); the
boxes' outlines lie inside the boxes (display/display.h). For each
detection, the pixels just inside its left and bottom edges must have the
class's colour along most of the edge (other boxes' tags and the heads-up
band at the top may cover parts); bars beside the picture are black; away
from the boxes the picture is not uniform (it shows the clip).
Prints one FAIL line per problem; exit status 1 when there was any.
"""
import json
import math
import struct
import subprocess
import sys
import zlib

failures = []
checks = 0


def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        failures.append(msg)
    return cond


def read_png(path):
    """8-bit RGB or RGBA, non-interlaced: (width, height, rows of (r, g, b))."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"{path}: depth {depth} colour type {ctype} interlace {interlace}")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if w is None:
        raise ValueError(f"{path}: no IHDR")
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
            elif ft != 0:
                raise ValueError(f"{path}: filter type {ft} in row {y}")
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def letterbox(fw, fh, ow, oh):
    """The picture's rectangle in the window: as large as fits, aspect kept
    (to the nearest pixel), centred."""
    if ow * fh <= oh * fw:
        pw, ph = ow, (fh * ow + fw // 2) // fw
    else:
        pw, ph = (fw * oh + fh // 2) // fh, oh
    return (ow - pw) // 2, (oh - ph) // 2, pw, ph


def lround(v):
    return int(math.floor(v + 0.5)) if v >= 0 else -int(math.floor(-v + 0.5))


def near(c, want, tol=6):
    return all(abs(a - b) <= tol for a, b in zip(c, want))


def main():
    shot, frames_path, frame_no, test_display = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    w, h, px = read_png(shot)
    objs = [json.loads(l) for l in open(frames_path)]
    mine = [o for o in objs if o["frame"] == frame_no]
    if not check(len(mine) == 1, f"frame {frame_no}: {len(mine)} JSON lines"):
        return report()
    o = mine[0]
    fw, fh = o["width"], o["height"]
    dets = o["detections"]
    if not check(len(dets) >= 2, f"frame {frame_no} has {len(dets)} detections; the test wants a few"):
        return report()
    ids = sorted({d["class_id"] for d in dets})
    out = subprocess.run([test_display, "palette"] + [str(i) for i in ids], capture_output=True,
                         text=True, check=True).stdout
    colour = {}
    for line in out.splitlines():
        cid, hexrgb = line.split()
        v = int(hexrgb, 16)
        colour[int(cid)] = (v >> 16, v >> 8 & 255, v & 255)
    check(set(colour) == set(ids), f"palette gave {sorted(colour)} for {ids}")

    x0p, y0p, pw, ph = letterbox(fw, fh, w, h)
    t = max(2, ph // 270)                 # outline thickness
    sx, sy = pw / fw, ph / fh
    # The heads-up band and the PAUSED tag sit across the picture's top.
    top_zone = y0p + ph * 12 // 100

    # Bars beside (or above and below) the picture are black.
    bars = [(x, y) for y in range(0, h, 7) for x in range(0, w, 7)
            if not (x0p <= x < x0p + pw and y0p <= y < y0p + ph)]
    if bars:
        black = sum(px[y][x] == (0, 0, 0) for x, y in bars)
        check(black == len(bars), f"{len(bars) - black} of {len(bars)} bar pixels are not black")

    boxes = []
    edges_checked = 0
    for d in dets:
        n = d["box_normalized"]
        c = colour.get(d["class_id"])
        # The program's own arithmetic: frame pixels in float, then screen.
        fx0, fx1 = n["xmin"] * fw, n["xmax"] * fw
        fy0, fy1 = n["ymin"] * fh, n["ymax"] * fh
        l, r = lround(x0p + fx0 * sx), lround(x0p + fx1 * sx)
        tp, b = lround(y0p + fy0 * sy), lround(y0p + fy1 * sy)
        boxes.append((l, tp, r, b))
        name = f"frame {frame_no} {d['label']} at ({d['box']['xmin']:.0f},{d['box']['ymin']:.0f})-" \
               f"({d['box']['xmax']:.0f},{d['box']['ymax']:.0f})"
        # Columns / rows a pixel or two inside the edge: with a 2-pixel
        # outline, either of its two lines (a box corner exactly on a half
        # pixel may round either way in the program's float arithmetic).
        inside = sorted({(t - 1) // 2, t // 2})
        # Left edge: visible when the box starts inside the picture.
        if n["xmin"] >= 0 and l >= x0p:
            ys = [y for y in range(max(tp + t, top_zone), min(b - t, y0p + ph)) if 0 <= y < h]
            if len(ys) >= 8:
                hit = sum(any(near(px[y][l + k], c) for k in inside) for y in ys)
                edges_checked += 1
                check(hit >= 0.5 * len(ys), f"{name}: left edge has the class colour "
                      f"#{c[0]:02X}{c[1]:02X}{c[2]:02X} on {hit} of {len(ys)} rows (col {l})")
        # Bottom edge: visible when the box ends inside the picture, below
        # the heads-up band.
        if n["ymax"] <= 1 and b <= y0p + ph and b - 1 > top_zone:
            xs = [x for x in range(max(l + t, x0p), min(r - t, x0p + pw))]
            if len(xs) >= 8:
                hit = sum(any(near(px[b - 1 - k][x], c) for k in inside) for x in xs)
                edges_checked += 1
                check(hit >= 0.5 * len(xs), f"{name}: bottom edge has the class colour "
                      f"#{c[0]:02X}{c[1]:02X}{c[2]:02X} on {hit} of {len(xs)} columns (row {b - 1})")
    check(edges_checked >= 2, f"only {edges_checked} box edges could be checked")

    # Off the boxes (and their tags above them) the picture shows the clip.
    tag_room = 40
    samples = []
    for y in range(top_zone, y0p + ph, 5):
        for x in range(x0p, x0p + pw, 5):
            if any(l - 4 <= x < r + 4 and tp - tag_room <= y < b + 4 for l, tp, r, b in boxes):
                continue
            samples.append(px[y][x])
    lum = [0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] for p in samples]
    if check(len(lum) > 1000, f"only {len(lum)} picture pixels off the boxes"):
        mean = sum(lum) / len(lum)
        sd = math.sqrt(sum((v - mean) ** 2 for v in lum) / len(lum))
        check(sd > 10 and len(set(samples)) > 200,
              f"off the boxes the picture is nearly uniform: luma sd {sd:.1f}, {len(set(samples))} colours")
    print(f"screenshot {w}x{h}, picture {pw}x{ph} at ({x0p},{y0p}), {len(dets)} boxes, "
          f"{edges_checked} edges checked")
    return report()


def report():
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    print(f"check_screenshot: {checks} checks, {len(failures)} failed")
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
