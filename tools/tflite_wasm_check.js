#!/usr/bin/env node
/*
 * Run a model in TensorFlow Lite itself (the WebAssembly build that the npm
 * package @tensorflow/tfjs-tflite ships, made for browsers and run here under
 * Node with a few shims) on the inputs that tests/dump_outputs wrote, and
 * compare TFLite's raw outputs with mnv2det's, element by element.
 *
 * Not part of the build or of any test suite: it needs npm packages that
 * tools/tflite_wasm_check.sh installs into a scratch folder (pinned
 * versions: @tensorflow/tfjs-tflite 0.0.1-alpha.10, @tensorflow/tfjs-core
 * 4.9.0, its peer). That script also builds dump_outputs and runs both sides
 * on every golden picture; see it for the whole procedure.
 *
 * usage: node tools/tflite_wasm_check.js --modules DIR [--variant simd|plain]
 *            [--threads N] [--profile] [--save DIR] DUMP.json...
 *   --modules DIR  folder where the npm packages were installed (holds
 *                  node_modules); default $TFLITE_WASM_MODULES
 *   --variant      which of the package's WebAssembly builds to run: simd
 *                  (default) or plain (no SIMD). Both are single-threaded
 *                  here (the threaded builds need browser workers).
 *   --threads N    numThreads option of the model runner (default 1)
 *   --profile      print TFLite's profile of the first run of each model to
 *                  stderr: which nodes its XNNPACK delegate took
 *   --save DIR     also write TFLite's outputs as DIR/<picture>.<model>.out<i>.f32
 *   DUMP.json      written by tests/dump_outputs: model, input file, and our
 *                  outputs with, for a quantized model, the scale of the int8
 *                  tensor behind each range of rows (a DEQUANTIZE's input)
 *
 * For each dump and output it prints the largest absolute difference, the
 * largest difference in quantization steps of the rows' int8 tensor (for a
 * quantized model), how many elements differ at all and a histogram of the
 * differences in steps. Exit status 0 when everything ran (the comparison
 * is reported, not judged), 1 on a load or run failure.
 *
 * TFLite's web runner has no option to leave out its XNNPACK delegate (its
 * options are numThreads, enableProfiling, maxProfilingBufferEntries):
 * every int8 CONV_2D / DEPTHWISE_CONV_2D / ADD here runs in XNNPACK, whose
 * int8 kernels requantize in float32 (scale multiply, round to nearest even)
 * where TFLite's reference and builtin kernels use a fixed-point multiplier
 * (rounding half away from zero). --profile shows the partition.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');
const { createRequire } = require('module');

function usage(msg) {
  if (msg) console.error('tflite_wasm_check: ' + msg);
  console.error('usage: node tools/tflite_wasm_check.js --modules DIR [--variant simd|plain] ' +
                '[--threads N] [--profile] [--save DIR] DUMP.json...');
  process.exit(2);
}

const opt = { modules: process.env.TFLITE_WASM_MODULES || '', variant: 'simd', threads: 1,
              profile: false, save: '', dumps: [] };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const next = () => { if (i + 1 >= process.argv.length) usage(a + ' needs a value'); return process.argv[++i]; };
  if (a === '--modules') opt.modules = next();
  else if (a === '--variant') opt.variant = next();
  else if (a === '--threads') opt.threads = parseInt(next(), 10);
  else if (a === '--profile') opt.profile = true;
  else if (a === '--save') opt.save = next();
  else if (a === '-h' || a === '--help') usage();
  else if (a.startsWith('--')) usage('unknown option ' + a);
  else opt.dumps.push(a);
}
if (!opt.modules) usage('no --modules folder (nor $TFLITE_WASM_MODULES)');
if (opt.variant !== 'simd' && opt.variant !== 'plain') usage('--variant is simd or plain');
if (!(opt.threads >= 1)) usage('--threads must be a positive number');
if (opt.dumps.length === 0) usage('no DUMP.json given');

const req = createRequire(path.resolve(opt.modules, 'package.json'));
const wasmDir = path.join(path.dirname(req.resolve('@tensorflow/tfjs-tflite/package.json')), 'wasm') + '/';

/*
 * The package's loader believes it runs in a web worker when there is no
 * `window`: it picks a build by the features it detects, fetches its
 * Emscripten glue with importScripts and lets the glue fetch the .wasm
 * beside it. Under Node: importScripts evaluates the glue from disk (its
 * top-level `var` becomes a global, as in a worker) and the factory it
 * defines is wrapped to hand over the .wasm bytes, so nothing is fetched.
 * The build asked for is replaced by the one --variant names, and
 * MessageChannel is hidden while the features are probed so that no
 * threaded build (browser workers) is chosen.
 */
globalThis.self = globalThis;
globalThis.location = { origin: '', href: 'file://' + wasmDir };
let loadedGlue = '';
globalThis.importScripts = (url) => {
  const file = path.join(wasmDir, opt.variant === 'simd' ? 'tflite_web_api_cc_simd.js' : 'tflite_web_api_cc.js');
  if (!/tflite_web_api_cc[a-z_]*\.js$/.test(String(url)))
    throw new Error('unexpected script ' + url);
  vm.runInThisContext(fs.readFileSync(file, 'utf8'), { filename: file });
  const factory = globalThis.tflite_web_api_ModuleFactory;
  const wasm = fs.readFileSync(file.replace(/\.js$/, '.wasm'));
  globalThis.tflite_web_api_ModuleFactory = (m) => factory(Object.assign({}, m, { wasmBinary: wasm }));
  loadedGlue = path.basename(file);
};

const tflite = req('@tensorflow/tfjs-tflite');
tflite.setWasmPath(wasmDir);

async function loadRunner(modelPath) {
  const buf = fs.readFileSync(modelPath);
  const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  const savedChannel = globalThis.MessageChannel;
  globalThis.MessageChannel = undefined;
  try {
    const model = await tflite.loadTFLiteModel(bytes, { numThreads: opt.threads, enableProfiling: opt.profile });
    return model.modelRunner;
  } finally {
    globalThis.MessageChannel = savedChannel;
  }
}

function readF32(file) {
  const b = fs.readFileSync(file);
  if (b.length % 4) throw new Error(file + ': not a float32 file');
  const out = new Float32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

function compare(ours, theirs, info) {
  const last = info.shape[info.shape.length - 1];
  // The scale of each row: its int8 tensor's, or 0 for float rows.
  const rowScale = new Float64Array(ours.length / last);
  for (const s of info.segments || [])
    if (s.scale) rowScale.fill(s.scale, s.row_begin, s.row_begin + s.rows);
  const r = { n: ours.length, differ: 0, maxAbs: 0, maxAbsAt: -1, maxSteps: 0, maxStepsAt: -1,
              quantized: rowScale.some((x) => x > 0), hist: new Map(), offGrid: 0, maxRel: 0 };
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i] - theirs[i]);
    if (Number.isNaN(d)) { r.differ++; r.maxAbs = Infinity; continue; }
    if (d !== 0) r.differ++;
    if (d > r.maxAbs) { r.maxAbs = d; r.maxAbsAt = i; }
    const rel = d / Math.max(Math.abs(theirs[i]), 1e-6);
    if (d !== 0 && rel > r.maxRel) r.maxRel = rel;
    const scale = rowScale[Math.floor(i / last)];
    if (scale > 0) {
      const steps = d / scale;
      const k = Math.round(steps);
      if (Math.abs(steps - k) > 1e-3) r.offGrid++;
      r.hist.set(k, (r.hist.get(k) || 0) + 1);
      if (steps > r.maxSteps) { r.maxSteps = steps; r.maxStepsAt = i; }
    }
  }
  return r;
}

function where(i, last) { return i < 0 ? '-' : `[row ${Math.floor(i / last)}, col ${i % last}]`; }

(async () => {
  const runners = new Map();
  let status = 0;
  for (const dumpFile of opt.dumps) {
    const dump = JSON.parse(fs.readFileSync(dumpFile, 'utf8'));
    const base = path.dirname(path.resolve(dumpFile));
    const rel = (f) => path.resolve(base, f);
    let runner = runners.get(dump.model);
    if (!runner) {
      try {
        runner = await loadRunner(dump.model);
      } catch (e) {
        console.error(`tflite_wasm_check: TFLite could not load ${dump.model}: ${e && e.message || e}`);
        process.exit(1);
      }
      runners.set(dump.model, runner);
      const ins = runner.getInputs().map((t) => `${t.name} ${t.dataType} [${t.shape}]`);
      const outs = runner.getOutputs().map((t) => `${t.name} ${t.dataType} [${t.shape}]`);
      console.log(`# ${path.basename(dump.model)}: TFLite (${loadedGlue}) loaded it; ` +
                  `inputs ${ins.join('; ')}; outputs ${outs.join('; ')}`);
    }
    const input = readF32(fs.existsSync(dump.input.file) ? dump.input.file : rel(dump.input.file));
    const tin = runner.getInputs();
    if (tin.length !== 1 || tin[0].dataType !== 'float32' || tin[0].data().length !== input.length) {
      console.error(`tflite_wasm_check: ${dump.model}: expected one float32 input of ${input.length} values`);
      process.exit(1);
    }
    tin[0].data().set(input);
    const t0 = process.hrtime.bigint();
    if (!runner.infer()) {
      console.error(`tflite_wasm_check: ${dump.model}: TFLite's inference failed`);
      process.exit(1);
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (opt.profile && runners.size && !runner.profiled) {
      runner.profiled = true;
      console.error(runner.getProfilingSummary());
    }
    const picture = path.basename(dump.picture).replace(/\.[^.]*\.png$|\.png$/, '');
    const modelName = path.basename(dump.model).replace(/\.tflite$/, '');
    const tout = runner.getOutputs();
    console.log(`## ${picture} / ${modelName} (TFLite ${ms.toFixed(0)} ms)`);
    dump.outputs.forEach((info, oi) => {
      const t = tout.find((x) => x.name === info.name);
      if (!t) {
        console.log(`  ${info.name}: TFLite has no such output`);
        status = 1;
        return;
      }
      const theirs = Float32Array.from(t.data());
      const ours = readF32(fs.existsSync(info.file) ? info.file : rel(info.file));
      if (theirs.length !== ours.length) {
        console.log(`  ${info.name}: ${ours.length} values here, ${theirs.length} in TFLite`);
        status = 1;
        return;
      }
      if (opt.save) {
        fs.mkdirSync(opt.save, { recursive: true });
        fs.writeFileSync(path.join(opt.save, `${picture}.${modelName}.out${oi}.f32`),
                         Buffer.from(theirs.buffer, theirs.byteOffset, theirs.byteLength));
      }
      const r = compare(ours, theirs, info);
      const last = info.shape[info.shape.length - 1];
      let line = `  ${info.name}: max |diff| ${r.maxAbs.toExponential(3)} at ${where(r.maxAbsAt, last)}, ` +
                 `${r.differ}/${r.n} elements differ`;
      if (r.quantized) {
        const hist = [...r.hist.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}:${v}`).join(' ');
        const scales = [...new Set((info.segments || []).map((s) => s.scale))].map((s) => s.toPrecision(4));
        line += `; max ${r.maxSteps.toFixed(3)} steps at ${where(r.maxStepsAt, last)} ` +
                `(steps: ${scales.join(', ')}); |diff| in steps -> count: ${hist}` +
                (r.offGrid ? `; ${r.offGrid} off the step grid` : '');
      } else {
        line += `; max relative ${r.maxRel.toExponential(3)}`;
      }
      console.log(line);
    });
  }
  process.exit(status);
})().catch((e) => {
  console.error('tflite_wasm_check: ' + (e && e.stack || e));
  process.exit(1);
});
