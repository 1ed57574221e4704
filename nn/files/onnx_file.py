"""A network as an ONNX model, for any ONNX runtime: input `pixels` (N, 784) float32, the 784
numbers the network receives (normalised, 0-1, row by row); output `probabilities` (N, 10).

Each layer becomes the ONNX operator that computes the same thing:

    Unflatten (28, 28, 1)   Reshape to (N, 1, 28, 28): ONNX's images are (N, C, H, W), and with
                            one channel the 784 pixels are already in that order
    Conv2D                  Conv, the weights (k, k, C, F) turned to ONNX's (F, C, k, k), 'same' pads
    MaxPool2D               MaxPool 2x2, stride 2
    Flatten                 Transpose to (N, H, W, C) first: our dense layer reads (y, x, c) order
    Dense                   Gemm: X · W + b
    activations             Relu, LeakyRelu (0.01), Elu, Sigmoid, Tanh
    output                  Softmax; for a network trained with mse, Sigmoid scaled to sum to 1

A float64 network is written in float32, as the file's input and output are (onnxruntime has no
float64 convolution): its probabilities move by about 1e-7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from nn import __version__
from nn.activations import Activation
from nn.layers import Conv2D, Dense, Flatten, MaxPool2D, Unflatten
from nn.network import Network
from nn.plumbing.files import atomic_write

OPSET = 13  # Softmax over one axis, ReduceSum's axes as an input: onnxruntime 1.8 and later
IR_VERSION = 7  # the file format of that opset, so that older runtimes read it too
OPERATORS = {"relu": ("Relu", {}), "leaky_relu": ("LeakyRelu", {"alpha": 0.01}), "elu": ("Elu", {"alpha": 1.0}),
             "sigmoid": ("Sigmoid", {}), "tanh": ("Tanh", {})}


def to_onnx(net: Network, name: str = "digit recognizer") -> onnx.ModelProto:
    """The network as an ONNX model (checked by onnx.checker)."""
    dtype = np.dtype(np.float32)
    nodes, weights = [], []
    count = iter(range(10 ** 6))

    def node(op: str, inputs: list[str], **attributes) -> str:
        out = f"{op.lower()}{next(count)}"
        nodes.append(helper.make_node(op, inputs, [out], **attributes))
        return out

    def constant(array: np.ndarray) -> str:
        weight = f"w{len(weights)}"
        weights.append(numpy_helper.from_array(np.ascontiguousarray(array, array.dtype if array.dtype.kind == 'i' else dtype), weight))
        return weight

    x = "pixels"
    for layer in net.layers:
        if isinstance(layer, Unflatten):
            h, w, c = layer.shape
            x = node("Reshape", [x, constant(np.array([-1, h, w, c], np.int64))])
            x = node("Transpose", [x], perm=[0, 3, 1, 2])  # (N, H, W, C) -> (N, C, H, W)
        elif isinstance(layer, Conv2D):
            p = layer.k // 2
            x = node("Conv", [x, constant(layer.W.transpose(3, 2, 0, 1)), constant(layer.b)],
                     kernel_shape=[layer.k, layer.k], pads=[p, p, p, p])
        elif isinstance(layer, MaxPool2D):
            x = node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
        elif isinstance(layer, Flatten):
            x = node("Flatten", [node("Transpose", [x], perm=[0, 2, 3, 1])], axis=1)
        elif isinstance(layer, Dense):
            x = node("Gemm", [x, constant(layer.W), constant(layer.b)])
        elif isinstance(layer, Activation):
            op, attributes = OPERATORS[layer.name]
            x = node(op, [x], **attributes)
        else:
            raise TypeError(f"no ONNX operator for the layer {layer!r}")
    if net.loss.output == "softmax":
        x = node("Softmax", [x], axis=1)
    else:  # ten sigmoids, scaled to sum to 1 (MeanSquaredError.probabilities)
        a = node("Sigmoid", [x])
        total = node("ReduceSum", [a, constant(np.array([1], np.int64))], keepdims=1)
        x = node("Div", [a, node("Max", [total, constant(np.array(np.finfo(dtype).tiny, dtype))])])
    nodes.append(helper.make_node("Identity", [x], ["probabilities"]))
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", net.sizes[0]])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", net.sizes[-1]])],
        initializer=weights)
    model = helper.make_model(graph, producer_name="nn (digit recognizer)", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    model.doc_string = (f"{name}: {net.shape_name}. Input: the 784 pixels the network receives, 0-1, "
                        "after the app's normalisation (crop, 20 pixels on the longer side, centre of mass). "
                        "Output: the ten digits' probabilities.")
    onnx.checker.check_model(model, full_check=True)
    return model


def save_onnx(path: Path | str, net: Network, name: str = "digit recognizer") -> int:
    """Write the network to `path` as ONNX, atomically; the file's size in bytes."""
    data = to_onnx(net, name).SerializeToString()
    with atomic_write(path) as f:
        f.write(data)
    return len(data)
