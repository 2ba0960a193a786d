#!/bin/sh
# Compare mnv2det's raw network outputs with TensorFlow Lite's own (its
# WebAssembly build from npm, run under Node) on every golden picture, for
# the int8 model and, as a check of the harness, the float model.
#
# usage: tools/tflite_wasm_check.sh [BUILD_DIR] [-- options for tflite_wasm_check.js]
#   BUILD_DIR  a meson build of this tree (default: build); tests/dump_outputs
#              is built in it
# environment:
#   TFLITE_WASM_MODULES  scratch folder for the npm packages (default
#                        /tmp/mnv2det-tflite-wasm); installed there when absent
#   OUT                  folder for the dumps (default: a new one under /tmp)
#   MODELS               models to compare (default: the int8 and fp16 SSD models)
#   PICTURES             golden picture names (default: those in tests/data)
#
# Needs node and npm (Debian: nodejs npm) and the npm registry; nothing of it
# is part of the build or of the test suites.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=build
if [ $# -gt 0 ] && [ "$1" != "--" ]; then build=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
case $build in /*) ;; *) build=$here/$build ;; esac

modules=${TFLITE_WASM_MODULES:-/tmp/mnv2det-tflite-wasm}
if [ ! -d "$modules/node_modules/@tensorflow/tfjs-tflite/wasm" ]; then
    mkdir -p "$modules"
    (cd "$modules" && { [ -f package.json ] || echo '{"private": true}' > package.json; } &&
        npm install --no-audit --no-fund --save-exact \
            @tensorflow/tfjs-tflite@0.0.1-alpha.10 @tensorflow/tfjs-core@4.9.0)
fi

ninja -C "$build" tests/dump_outputs >/dev/null
out=${OUT:-$(mktemp -d /tmp/mnv2det-tflite-check.XXXXXX)}
mkdir -p "$out"
models=${MODELS:-"$here/models/object_detection_ssd_mobilenetv2_oidv4_int8.tflite $here/models/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite"}
pictures=${PICTURES:-$(cd "$here/tests/data" && ls *.300.png | sed 's/\.300\.png$//')}

for model in $models; do
    dumps=
    for p in $pictures; do
        prefix=$out/$p.$(basename "$model" .tflite)
        "$build/tests/dump_outputs" "$model" "$here/tests/data/$p.300.png" "$prefix"
        dumps="$dumps $prefix.json"
    done
    # shellcheck disable=SC2086
    node "$here/tools/tflite_wasm_check.js" --modules "$modules" "$@" $dumps
done
echo "dumps in $out"
