// SPDX-License-Identifier: MIT
// Runs an ONNX model in ONNX Runtime (npm's onnxruntime-node, CPU) on a raw float32 file and
// writes the outputs as raw float32. QAT Workbench calls it to check its ONNX exports in a real
// runtime; it is never needed to run the workbench itself.
//
//   node run_onnx.js --model M.onnx --input X.f32 --shape N,C,H,W --output Y.f32
//                    [--optimization default|none] [--batch 256]
//
// --optimization default: ONNX Runtime's default graph optimizations (Q/DQ pairs fused into
// integer kernels such as QLinearConv), what a deployment gets; none: float kernels between
// exact QuantizeLinear/DequantizeLinear. Prints one JSON line on stdout:
// {ort_version, output_shape, optimization}. Exit codes: 0 ran, 1 failed, 3 onnxruntime-node
// not found (set NODE_PATH to the node_modules folder that holds it).
'use strict';
const fs = require('fs');

function parseArgs(argv) {
  const args = { optimization: 'default', batch: 256 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (argv[i + 1] === undefined) throw new Error(`--${key} needs a value`);
    args[key] = argv[i + 1];
  }
  for (const key of ['model', 'input', 'shape', 'output']) {
    if (!args[key]) throw new Error(`--${key} is required`);
  }
  args.shape = args.shape.split(',').map(Number);
  args.batch = Number(args.batch);
  if (!['default', 'none'].includes(args.optimization)) throw new Error('--optimization is default or none');
  return args;
}

async function main() {
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    process.stderr.write('onnxruntime-node not found (' + e.message.split('\n')[0] + ')\n');
    process.exit(3);
  }
  const args = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: args.optimization === 'none' ? 'disabled' : 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const raw = fs.readFileSync(args.input);
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const perImage = args.shape.slice(1).reduce((a, b) => a * b, 1);
  const images = args.shape[0];
  if (all.length !== images * perImage) {
    throw new Error(`${args.input} holds ${all.length} floats, the shape asks for ${images * perImage}`);
  }
  const out = fs.openSync(args.output, 'w');
  let outputShape = null;
  for (let start = 0; start < images; start += args.batch) {
    const n = Math.min(args.batch, images - start);
    const input = new ort.Tensor('float32', all.subarray(start * perImage, (start + n) * perImage),
                                 [n, ...args.shape.slice(1)]);
    const result = await session.run({ [session.inputNames[0]]: input });
    const logits = result[session.outputNames[0]];
    outputShape = outputShape ? [outputShape[0] + n, ...logits.dims.slice(1)] : [n, ...logits.dims.slice(1)];
    fs.writeSync(out, Buffer.from(logits.data.buffer, logits.data.byteOffset, logits.data.byteLength));
  }
  fs.closeSync(out);
  process.stdout.write(JSON.stringify({ ort_version: ort.env.versions.node || ort.env.versions.common,
                                        output_shape: outputShape, optimization: args.optimization }) + '\n');
}

main().catch((e) => {
  process.stderr.write((e && e.message ? e.message : String(e)).split('\n')[0] + '\n');
  process.exit(1);
});
