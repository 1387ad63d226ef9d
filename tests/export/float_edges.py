#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Lists the float edges of an exported QDQ ONNX model: tensors an integer chip would store
between operators without a quantizer. Called by tst_export; prints one JSON object.

    float_edges.py MODEL.onnx   -> {"edges": ["Conv_12 reads t_11 from Relu_10", ...], "compute": N}

Every data input of every compute node must come, through grid-preserving nodes only (reshape,
transpose, max-pool, ...), from a DequantizeLinear. Two things are not stored and so not float
edges: an op fused into the group before it (a conv's BatchNorm and activation, an add's ReLU,
a linear's bias add), and the inside of one op written as several ONNX nodes (GELU as
Div/Erf/Add/Mul, SiLU as Sigmoid/Mul): every node of such a group is an elementwise function of
one stored tensor.
"""
import json
import sys

import onnx

GRID_PRESERVING = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "MaxPool", "Split", "Slice",
                   "Gather", "Pad", "Identity", "Dropout", "Expand", "Tile", "DepthToSpace", "SpaceToDepth"}
QUANTIZER = {"QuantizeLinear", "DequantizeLinear"}
LAYERS = {"Conv", "ConvTranspose", "Gemm", "MatMul"}
ACTIVATIONS = {"Relu", "Clip", "LeakyRelu", "HardSwish", "HardSigmoid", "PRelu", "Sigmoid", "Tanh", "Elu", "Selu"}
RELU_LIKE = {"Relu", "Clip", "LeakyRelu"}
ARITHMETIC = {"Add", "Sub", "Mul", "Div"}


def main(path):
    model = onnx.load(path)
    constants = {t.name for t in model.graph.initializer}
    producer = {}
    for n in model.graph.node:
        if n.op_type == "Constant":
            constants.update(n.output)
        for out in n.output:
            producer[out] = n
    graph_inputs = {i.name for i in model.graph.input}

    def source(tensor):
        """The node behind tensor, through grid-preserving nodes (None for a graph input)."""
        node = producer.get(tensor)
        while node is not None and node.op_type in GRID_PRESERVING:
            node = producer.get(node.input[0])
        return node

    def data_inputs(node):
        return [t for t in node.input if t and t not in constants]

    def stored_root(tensor, depth=0):
        """The stored tensor (a DequantizeLinear output) that tensor is an elementwise function
        of, through nodes whose other inputs are constants; None when there is none."""
        node = source(tensor)
        if node is None or depth > 16:
            return None
        if node.op_type == "DequantizeLinear":
            return node.output[0]
        inputs = data_inputs(node)
        roots = {stored_root(t, depth + 1) for t in inputs}
        return roots.pop() if len(roots) == 1 and None not in roots else None

    def fused(before, after):
        if before.op_type in LAYERS and (after.op_type in ACTIVATIONS or after.op_type == "BatchNormalization"):
            return True
        if before.op_type in ("MatMul", "Gemm") and after.op_type == "Add":  # a linear's bias
            return True
        if before.op_type == "BatchNormalization" and after.op_type in ACTIVATIONS:
            return True
        if before.op_type == "Add" and source(before.input[0]) is not None and \
                source(before.input[0]).op_type == "MatMul" and after.op_type in ACTIVATIONS:
            return True  # linear (MatMul + bias Add) followed by its activation
        if before.op_type in ARITHMETIC and after.op_type in RELU_LIKE:
            return True
        return False

    def silu_input(node):
        """x when node is the Mul of SiLU, x * Sigmoid(x)."""
        if node.op_type != "Mul" or len(data_inputs(node)) != 2:
            return None
        a, b = node.input[0], node.input[1]
        for x, s in ((a, b), (b, a)):
            p = producer.get(s)
            if p is not None and p.op_type == "Sigmoid" and p.input[0] == x:
                return x
        return None

    edges = []
    compute = 0
    for n in model.graph.node:
        if n.op_type in GRID_PRESERVING or n.op_type in QUANTIZER or n.op_type == "Constant":
            continue
        # A Clip that only feeds a QuantizeLinear is part of the quantizer (narrow grids).
        if n.op_type == "Clip" and all(c.op_type == "QuantizeLinear" for c in model.graph.node if n.output[0] in c.input):
            continue
        compute += 1
        inputs = data_inputs(n)
        x = silu_input(n)
        if x is not None:
            # SiLU is one activation: only its input x matters (stored, or fused after a layer).
            src = source(x)
            if src is None or not (src.op_type == "DequantizeLinear" or src.op_type in LAYERS | {"BatchNormalization"}):
                edges.append(f"{n.name} (SiLU) reads {x} unquantized")
            continue
        roots = [stored_root(t) for t in inputs]
        for t, root in zip(inputs, roots):
            if t in graph_inputs:
                edges.append(f"{n.name} ({n.op_type}) reads the model input unquantized")
                continue
            src = source(t)
            if src is not None and src.op_type == "DequantizeLinear":
                continue
            if root is not None and len(set(roots)) == 1:
                continue  # inside one op written as several nodes
            if src is not None and fused(src, n):
                continue
            edges.append(f"{n.name} ({n.op_type}) reads {t} from {src.name if src else '?'} "
                         f"({src.op_type if src else '?'}) unquantized")
    return {"edges": edges, "compute": compute}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
