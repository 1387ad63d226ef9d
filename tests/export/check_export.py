#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks QAT Workbench exports with stock Python tools (Debian's python3-torch, python3-onnx).
Called by tst_export; prints one JSON object on stdout.

    check_export.py torchscript CASES.json   # [{"pt": ..., "ref": ...}] -> max |diff|, qat ops
    check_export.py onnx MODEL.onnx SPEC.json # checker, Q/DQ pairs, scales and zero points vs spec
    check_export.py onnx-run MODEL.onnx MODEL.pt REF.pt  # ONNX (evaluated with torch ops) vs TorchScript
    check_export.py mctq MODEL.mctq.onnx MODEL.pt REF.pt # MCT's format: checker, nodes, evaluated vs TorchScript
    check_export.py mct-rebuild SPEC.json MODEL.pt        # mct_quantizers' arithmetic on the exported weights
    check_export.py accuracy MODEL.pt IDX_DIR LIMIT  # top-1 on the t10k split
"""
import gzip
import json
import math
import os
import sys

import numpy as np

# Threads as the app sets them (core/common/version.cpp: LibTorch one per core, BLAS in the
# calling thread): sums split differently can move a value across a rounding boundary, and one
# grid step is then a real difference, not the export's.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def torchscript(cases_path):
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    out = {}
    for case in json.load(open(cases_path)):
        model = torch.jit.load(case["pt"])
        model.eval()
        foreign = sorted({n.kind() for m in [model] + list(model.modules())
                          for n in m.graph.nodes() if n.kind().split("::")[0] not in ("aten", "prim")}
                         if hasattr(model, "graph") else [])
        images, expected = torch.load(case["ref"])
        with torch.no_grad():
            got = model(images)
        out[case["pt"]] = {"max_abs_diff": float((got - expected).abs().max()), "foreign_ops": foreign,
                           "code_mentions_qat": "qat::" in model.code}
    return out


def fix_range(a, b, bits):
    """mct_quantizers' fix_range_to_include_zero, then scale and zero point (rounded)."""
    a, b = np.minimum(a, 0.0), np.maximum(b, 0.0)
    levels = 2 ** bits - 1
    scale = (b - a) / levels
    return scale, np.round(-a / scale)


def spec_grids(spec):
    """(scales, zero points) per quantizer as mct_quantizers' constructor arguments define them."""
    grids = []
    for q in spec["quantizers"]:
        a = q["arguments"]
        name = q["class_name"]
        bits = a["num_bits"]
        if "Uniform" in name:
            scale, zp = fix_range(np.array(a["min_range"], dtype=np.float32), np.array(a["max_range"], dtype=np.float32), bits)
        else:
            t = np.array(a["threshold"], dtype=np.float32)
            signed = True if name.startswith("Weights") else a["signed"]
            scale = t / np.float32(2 ** (bits - (1 if signed else 0)))
            zp = np.zeros_like(t)
            if "POT" in name:
                assert all(math.log2(v) == round(math.log2(v)) for v in t), f"{q['name']}: threshold not a power of two"
        grids.append((q["name"], np.asarray(scale, dtype=np.float64).ravel(), np.asarray(zp, dtype=np.float64).ravel()))
    return grids


def check_spec_schema(spec, schema_path):
    """The documented schema, checked by hand (python3-jsonschema is not a dependency)."""
    schema = json.load(open(schema_path))
    for key in schema["required"]:
        assert key in spec, f"spec lacks {key}"
    item = schema["properties"]["quantizers"]["items"]
    for q in spec["quantizers"]:
        for key in item["required"]:
            assert key in q, f"{q.get('name')}: lacks {key}"
        assert q["target"] in item["properties"]["target"]["enum"]
        args = q["arguments"]
        assert isinstance(args["num_bits"], int)
        for key in ("threshold", "min_range", "max_range"):
            if key in args:
                assert isinstance(args[key], list) and all(isinstance(v, (int, float)) for v in args[key])


def onnx_check(model_path, spec_path):
    import onnx
    from onnx import numpy_helper
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    q = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
    # Integer biases are int32 initializers behind a DequantizeLinear alone (no quantizer).
    biases = [n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits
              and inits[n.input[0]].dtype == np.int32]
    dq = [n for n in model.graph.node if n.op_type == "DequantizeLinear" and n not in biases]
    spec = json.load(open(spec_path))
    schema = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources", "schemas",
                          "inferable_spec.schema.json")
    check_spec_schema(spec, schema)
    unmatched = []
    onnx_grids = [(inits[n.input[1]].astype(np.float64).ravel(), inits[n.input[2]].astype(np.float64).ravel()) for n in q]
    for name, scale, zp in spec_grids(spec):
        hit = next((i for i, (s, z) in enumerate(onnx_grids)
                    if s.shape == scale.shape and np.allclose(s, scale, rtol=1e-6, atol=0) and np.array_equal(z, zp)), None)
        if hit is None:
            unmatched.append(name)
        else:
            onnx_grids.pop(hit)
    return {"q": len(q), "dq": len(dq), "int32_biases": len(biases), "quantizers": len(spec["quantizers"]), "unmatched": unmatched,
            "opset": model.opset_import[0].version}


def fake_quant(x, scale, zero_point, qmin, qmax, per_channel, axis):
    """out = (clamp(round(x / scale) + zp, qmin, qmax) - zp) * scale, per tensor or per channel."""
    import torch
    if per_channel:
        shape = [1] * x.dim()
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return (torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax) - zero_point) * scale


def fix_range_torch(a, b, bits):
    """targets.md section 3: a uniform range is first moved so that zero lies on its grid."""
    import torch
    scale = (b - a) / (2 ** bits - 1)
    a_adj = scale * torch.round(a / scale)
    b_adj = b - a + a_adj
    mid = (a <= 0) & (b >= 0)
    return torch.where(mid, a_adj, torch.where(a > 0, torch.zeros_like(a), a)), \
        torch.where(mid, b_adj, torch.where(b < 0, torch.zeros_like(b), b))


def mctq_node(op, a, i):
    """The documented arithmetic of MCT's mct_quantizers ONNX nodes (targets.md section 3)."""
    import torch
    bits = a["num_bits"]
    assert a["mctq_version"], "mctq_version attribute missing"
    x = i[0]
    if op in ("WeightsSymmetricQuantizer", "WeightsPOTQuantizer"):
        t = i[1].float()
        if op == "WeightsPOTQuantizer":
            assert torch.all(torch.log2(t) == torch.round(torch.log2(t))), "POT threshold not a power of two"
        scale = t / 2 ** (bits - 1)
        return fake_quant(x, scale, torch.zeros_like(scale), -2 ** (bits - 1), 2 ** (bits - 1) - 1,
                          bool(a["per_channel"]), a["channel_axis"])
    if op == "WeightsUniformQuantizer":
        lo, hi = fix_range_torch(i[1].float(), i[2].float(), bits)
        scale = (hi - lo) / (2 ** bits - 1)
        return fake_quant(x, scale, torch.round(-lo / scale), 0, 2 ** bits - 1, bool(a["per_channel"]), a["channel_axis"])
    if op in ("ActivationSymmetricQuantizer", "ActivationPOTQuantizer"):
        signed = bool(a["signed"])
        scale = torch.tensor(a["threshold"] / 2 ** (bits - (1 if signed else 0)), dtype=torch.float32)
        qmin, qmax = (-2 ** (bits - 1), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
        return fake_quant(x, scale, torch.zeros_like(scale), qmin, qmax, False, 0)
    if op == "ActivationUniformQuantizer":
        lo, hi = fix_range_torch(torch.tensor(a["min_range"]), torch.tensor(a["max_range"]), bits)
        scale = (hi - lo) / (2 ** bits - 1)
        return fake_quant(x, scale, torch.round(-lo / scale), 0, 2 ** bits - 1, False, 0)
    raise SystemExit(f"evaluator: no mct_quantizers node {op}")


def mctq_vs_torchscript(model_path, pt_path, ref_path):
    """MCT's format: the checker with the custom domain declared, the nodes' attributes, and the
    graph evaluated with the nodes' documented arithmetic against the TorchScript export."""
    import onnx
    import torch
    model = onnx.load(model_path)
    onnx.checker.check_model(model)
    domains = {o.domain: o.version for o in model.opset_import}
    nodes = [n for n in model.graph.node if n.domain == "mct_quantizers"]
    versions = {at.s.decode() for n in nodes for at in n.attribute if at.name == "mctq_version"}
    meta = {p.key: p.value for p in model.metadata_props}
    images, _ = torch.load(ref_path)
    with torch.no_grad():
        expected = torch.jit.load(pt_path)(images)
        got = run_onnx_with_torch(model, images)
    return {"domain_declared": "mct_quantizers" in domains, "nodes": len(nodes),
            "node_types": sorted({n.op_type for n in nodes}), "mctq_versions": sorted(versions),
            "every_node_versioned": all(any(at.name == "mctq_version" for at in n.attribute) for n in nodes),
            "qdq_nodes": sum(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in model.graph.node),
            "metadata": meta, "max_abs_diff": float((got - expected).abs().max()),
            "top1_agreement": float((got.argmax(1) == expected.argmax(1)).float().mean())}


def mct_rebuild(spec_path, pt_path):
    """Every weights entry of the spec rebuilt with mct_quantizers' arithmetic (float32, zero
    fixed onto the grid, weights' zero point truncated) and applied to the exported weights."""
    import torch
    spec = json.load(open(spec_path))
    module = torch.jit.load(pt_path)
    params = dict(module.named_parameters())
    params.update(dict(module.named_buffers()))
    out = {}
    for q in spec["quantizers"]:
        if q["target"] != "weights":
            continue
        a = q["arguments"]
        w = params[q["name"]].detach().float()
        bits = a["num_bits"]
        if "Uniform" in q["class_name"]:
            lo, hi = fix_range_torch(torch.tensor(a["min_range"], dtype=torch.float32),
                                     torch.tensor(a["max_range"], dtype=torch.float32), bits)
            scale = (hi - lo) / (2 ** bits - 1)
            zp = -(lo / scale).int()
            rebuilt = fake_quant(w, scale, zp.float(), 0, 2 ** bits - 1, a["per_channel"], a["channel_axis"])
        else:
            scale = torch.tensor(a["threshold"], dtype=torch.float32) / 2 ** (bits - 1)
            rebuilt = fake_quant(w, scale, torch.zeros_like(scale), -2 ** (bits - 1), 2 ** (bits - 1) - 1,
                                 a["per_channel"], a["channel_axis"])
        out[q["name"]] = {"class_name": q["class_name"], "max_abs_diff": float((rebuilt - w).abs().max()),
                          "changed": int((rebuilt != w).sum())}
    return out


def run_onnx_with_torch(model, x):
    """A small ONNX evaluator over torch ops, for the ops the exporter writes (onnxruntime is
    not a Debian package). QuantizeLinear rounds half to even and saturates, as the spec says."""
    import torch
    import torch.nn.functional as F
    from onnx import numpy_helper
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    env[model.graph.input[0].name] = x
    for n in model.graph.node:
        a = {at.name: (list(at.ints) if at.ints else at.i if at.type == 2 else at.s.decode() if at.type == 3 else at.f)
             for at in n.attribute}
        i = [env[name] if name else None for name in n.input]
        op = n.op_type
        if op in ("Conv", "ConvTranspose"):
            pads = a.get("pads", [0] * (2 * (i[1].dim() - 2)))
            half = len(pads) // 2
            assert pads[:half] == pads[half:], "asymmetric pads"
            conv = {3: (F.conv1d, F.conv_transpose1d), 4: (F.conv2d, F.conv_transpose2d),
                    5: (F.conv3d, F.conv_transpose3d)}[i[1].dim()]
            if op == "Conv":
                y = conv[0](i[0], i[1], i[2] if len(i) > 2 else None, a["strides"], pads[:half], a["dilations"], a["group"])
            else:
                y = conv[1](i[0], i[1], i[2] if len(i) > 2 else None, a["strides"], pads[:half],
                            a.get("output_padding", 0), a["group"], a["dilations"])
        elif op == "QuantizeLinear":
            axis = a.get("axis", 1)
            s, z = i[1].float(), i[2].to(torch.int64)
            if s.dim() == 1:
                shape = [1] * i[0].dim()
                shape[axis] = -1
                s, z = s.reshape(shape), z.reshape(shape)
            lo, hi = (0, 255) if i[2].dtype == torch.uint8 else (-128, 127)
            # x * (1 / s) as LibTorch's fake-quant computes it (the ONNX spec divides; the two
            # differ only on exact ties, which integer biases make common).
            y = torch.clamp(torch.round(i[0] * (1.0 / s)) + z, lo, hi).to(i[2].dtype)
        elif op == "DequantizeLinear":
            axis = a.get("axis", 1)
            s, z = i[1].float(), i[2].float()
            if s.dim() == 1:
                shape = [1] * i[0].dim()
                shape[axis] = -1
                s, z = s.reshape(shape), z.reshape(shape)
            y = (i[0].float() - z) * s
        elif op == "MatMul": y = i[0] @ i[1]
        elif op == "Add": y = i[0] + i[1]
        elif op == "Sub": y = i[0] - i[1]
        elif op == "Mul": y = i[0] * i[1]
        elif op == "Div": y = i[0] / i[1]
        elif op == "Transpose": y = i[0].permute(*a["perm"])
        elif op == "Relu": y = torch.relu(i[0])
        elif op == "Sigmoid": y = torch.sigmoid(i[0])
        elif op == "Tanh": y = torch.tanh(i[0])
        elif op == "Erf": y = torch.erf(i[0])
        elif op == "HardSwish": y = F.hardswish(i[0])
        elif op == "HardSigmoid": y = torch.clamp(i[0] * a["alpha"] + a["beta"], 0, 1)
        elif op == "Clip": y = torch.clamp(i[0], float(i[1]), float(i[2]))
        elif op == "Identity": y = i[0]
        elif op == "Reshape":
            shape = [i[0].shape[k] if v == 0 else int(v) for k, v in enumerate(i[1].tolist())]
            y = i[0].reshape(shape)
        elif op == "ReduceMean": y = i[0].mean(dim=a["axes"], keepdim=bool(a.get("keepdims", 1)))
        elif op == "GlobalAveragePool": y = i[0].mean(dim=list(range(2, i[0].dim())), keepdim=True)
        elif op in ("MaxPool", "AveragePool"):
            k = len(a["kernel_shape"])
            half = a["pads"][:k]
            if op == "MaxPool":
                pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[k]
                y = pool(i[0], a["kernel_shape"], a["strides"], half, a["dilations"], bool(a["ceil_mode"]))
            else:
                pool = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[k]
                y = pool(i[0], a["kernel_shape"], a["strides"], half, bool(a["ceil_mode"]), bool(a["count_include_pad"]))
        elif op == "BatchNormalization":
            y = F.batch_norm(i[0], i[3], i[4], i[1], i[2], False, 0.0, a["epsilon"])
        elif op == "Unsqueeze": y = i[0].unsqueeze(int(i[1][0]))
        elif op == "Squeeze":
            y = i[0]
            for d in sorted([int(v) for v in i[1]], reverse=True):
                y = y.squeeze(d)
        elif op == "Concat": y = torch.cat([t.reshape(-1) if t.dim() == 0 else t for t in i], a["axis"])
        elif op == "Gemm":
            y = i[0] @ (i[1].t() if a.get("transB", 0) else i[1])
            if len(i) > 2: y = y + i[2]
        elif op == "Shape": y = torch.tensor(list(i[0].shape), dtype=torch.int64)
        elif op == "Gather": y = torch.index_select(i[0], a.get("axis", 0), i[1].reshape(-1)).reshape(i[1].shape)
        elif op == "Slice":
            starts, ends = int(i[1][0]), int(i[2][0])
            y = i[0][starts:min(ends, i[0].shape[0])]
        elif op == "Split":
            outs = torch.split(i[0], [int(v) for v in i[1]], a.get("axis", 0))
            for name, t in zip(n.output, outs):
                env[name] = t
            continue
        elif op == "Softmax": y = torch.softmax(i[0], a["axis"])
        elif op == "LogSoftmax": y = torch.log_softmax(i[0], a["axis"])
        elif op == "LeakyRelu": y = F.leaky_relu(i[0], a["alpha"])
        elif n.domain == "mct_quantizers": y = mctq_node(op, a, i)
        else:
            raise SystemExit(f"evaluator: no {op}")
        env[n.output[0]] = y
    return env[model.graph.output[0].name]


def onnx_vs_torchscript(model_path, pt_path, ref_path):
    import onnx
    import torch
    images, _ = torch.load(ref_path)
    with torch.no_grad():
        expected = torch.jit.load(pt_path)(images)
        got = run_onnx_with_torch(onnx.load(model_path), images)
    return {"max_abs_diff": float((got - expected).abs().max()),
            "top1_agreement": float((got.argmax(1) == expected.argmax(1)).float().mean())}


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def idx_file(folder, stem):
    for suffix in ("", ".gz"):
        path = os.path.join(folder, stem + suffix)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(stem)


def accuracy(model_path, folder, limit):
    import torch
    images = read_idx(idx_file(folder, "t10k-images-idx3-ubyte"))
    labels = read_idx(idx_file(folder, "t10k-labels-idx1-ubyte"))
    if limit > 0:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    model = torch.jit.load(model_path)
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return {"top1": float((pred.numpy() == labels).mean()), "images": len(labels)}


def main():
    mode = sys.argv[1]
    if mode == "torchscript":
        result = torchscript(sys.argv[2])
    elif mode == "onnx":
        result = onnx_check(sys.argv[2], sys.argv[3])
    elif mode == "onnx-run":
        result = onnx_vs_torchscript(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "mctq":
        result = mctq_vs_torchscript(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "mct-rebuild":
        result = mct_rebuild(sys.argv[2], sys.argv[3])
    elif mode == "accuracy":
        result = accuracy(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
