"""What an ONNX file holds, read without the onnx package: its operators and its numbers.

A forged export passes every check of its inputs and outputs, then gives black or saturated
photos (a bias of infinity, a weight of 3e38) or runs for ever (a Loop of 10^12 steps). The
protobuf is walked here with the few field numbers the check needs: importing the onnx package
would add 0.7 s to `colourise`'s start-up of 0.8 s (`onnx_runtime.py` keeps it torch- and
onnx-free). ONNX Runtime has read the file first, so what cannot be followed is refused.
"""

from collections.abc import Iterator
from typing import Any

import numpy as np

from image_colourisation.core.files import printable
from image_colourisation.models.record import MAX_WEIGHT_MAGNITUDE

# The operators of this project's exports: every module the architecture record can ask for
# (colour bins, attention, residual blocks, hints, the ImageNet encoder, confidence), exported
# by `onnx_export` at opset 17. Any other (Loop, Scan or If, which can run for ever; a custom
# operator) means the file came from elsewhere.
OPERATORS = frozenset(
    {
        "Add", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape",
        "Conv", "ConvTranspose", "Div", "Expand", "Gather", "Gemm", "Greater", "Identity",
        "LeakyRelu", "LessOrEqual", "MatMul", "Mul", "Pow", "ReduceMax", "ReduceMean",
        "ReduceSum", "Relu", "Reshape", "Resize", "Shape", "Slice", "Softmax", "Softplus", "Sub",
        "Tanh", "Transpose", "Unsqueeze", "Where",
    }
)  # fmt: skip


# The few parts of onnx.proto the checks below read: field numbers of ModelProto, GraphProto,
# NodeProto, AttributeProto and TensorProto, and TensorProto's element types.
_MODEL_GRAPH, _MODEL_FUNCTIONS = 7, 25
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_SPARSE_INITIALIZER = 1, 5, 15
_NODE_NAME, _NODE_OP_TYPE, _NODE_ATTRIBUTE, _NODE_DOMAIN = 3, 4, 5, 7
_ATTRIBUTE_NAME, _ATTRIBUTE_FLOAT, _ATTRIBUTE_FLOATS = 1, 2, 7
_ATTRIBUTE_TENSORS = {5, 10}  # t, tensors
_ATTRIBUTE_UNREAD = {6: "a graph", 11: "graphs", 22: "a sparse tensor", 23: "sparse tensors"}
_TENSOR_TYPE, _TENSOR_NAME, _TENSOR_EXTERNAL, _TENSOR_LOCATION = 2, 8, 13, 14
_TENSOR_VALUES = {4, 9, 10}  # float_data, raw_data, double_data
_FLOATS = {1: "<f4", 11: "<f8"}  # FLOAT, DOUBLE: the element types that can hold NaN here
_INTEGERS = {2, 3, 4, 5, 6, 7, 9, 12, 13}  # (u)int8 to (u)int64 and bool
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5  # protobuf's wire types
_FOREIGN = "which no export of this project has"
# A tensor of this many values or more that is mostly subnormal (the payloads' check,
# `payloads.MAX_SUBNORMAL_SHARE`, counts the whole model; an export is read tensor by tensor).
_MIN_SUBNORMAL_COUNTED = 16


class _Unreadable(Exception):
    """Protobuf bytes laid out as no exporter writes them (yet ONNX Runtime took them)."""


def contents_problem(data: bytes) -> str | None:
    """An operator outside `OPERATORS`, or a number of the graph (an initializer, a constant,
    an attribute) that is NaN, infinite or beyond `MAX_WEIGHT_MAGNITUDE`, as "its ...", or None
    (`data`: the file's bytes, as ONNX Runtime took them)."""
    try:
        for field, wire, value in _fields(memoryview(data)):
            if field == _MODEL_FUNCTIONS:
                return f"it defines functions of its own, {_FOREIGN}"
            if field == _MODEL_GRAPH and wire == _BYTES:
                problem = next(filter(None, map(_graph_entry_problem, _fields(value))), None)
                if problem:
                    return problem
    except _Unreadable as error:
        return f"its protobuf {error}, as no exporter writes it"
    return None


def _graph_entry_problem(entry: tuple[int, int, Any]) -> str | None:
    field, wire, value = entry
    if wire != _BYTES:
        return None  # not a field onnx.proto has: protobuf, and so ONNX Runtime, skips it
    if field == _GRAPH_NODE:
        return _node_problem(value)
    if field == _GRAPH_INITIALIZER:
        return _tensor_problem(value, "initializer")
    if field == _GRAPH_SPARSE_INITIALIZER:
        return f"it holds a sparse initializer, {_FOREIGN}"
    return None


def _node_problem(node: memoryview) -> str | None:
    texts: dict[int, str] = {}
    attributes = []
    for field, wire, value in _fields(node):
        if wire == _BYTES and field in (_NODE_NAME, _NODE_OP_TYPE, _NODE_DOMAIN):
            texts[field] = _text(value)
        elif wire == _BYTES and field == _NODE_ATTRIBUTE:
            attributes.append(value)
    operator, domain = texts.get(_NODE_OP_TYPE, ""), texts.get(_NODE_DOMAIN, "")
    if operator not in OPERATORS or domain not in ("", "ai.onnx"):
        named = f"{domain}.{operator}" if domain else operator
        return f"it uses the operator {named}, {_FOREIGN}"
    name = f"node {texts.get(_NODE_NAME) or operator}"
    return next(filter(None, (_attribute_problem(a, name) for a in attributes)), None)


def _attribute_problem(attribute: memoryview, node: str) -> str | None:
    name, numbers, tensors = "", [], []
    for field, wire, value in _fields(attribute):
        if field == _ATTRIBUTE_NAME and wire == _BYTES:
            name = _text(value)
        elif field == _ATTRIBUTE_FLOAT and wire == _FIXED32:
            numbers.append(_array(value, "<f4"))
        elif field == _ATTRIBUTE_FLOATS:
            numbers.append(_array(_packed(value, wire), "<f4"))
        elif field in _ATTRIBUTE_TENSORS and wire == _BYTES:
            tensors.append(value)
        elif field in _ATTRIBUTE_UNREAD:
            return f"its {node} holds {_ATTRIBUTE_UNREAD[field]}, {_FOREIGN}"
    label = f"{node}'s attribute {name}"
    problem = _magnitude_problem(numbers, label)
    return problem or next(filter(None, (_tensor_problem(t, label) for t in tensors)), None)


def _tensor_problem(tensor: memoryview, what: str) -> str | None:
    element, name, external, chunks = 0, "", False, []
    for field, wire, value in _fields(tensor):
        if field == _TENSOR_TYPE and wire == _VARINT:
            element = value
        elif field == _TENSOR_NAME and wire == _BYTES:
            name = _text(value)
        elif field == _TENSOR_EXTERNAL or (field == _TENSOR_LOCATION and value):
            external = True
        elif field in _TENSOR_VALUES:
            chunks.append(_packed(value, wire))
    label = f"{what} {name}".rstrip()
    if external:
        return f"its {label} keeps its values in another file, {_FOREIGN}"
    if element in _INTEGERS:
        return None  # no NaN, no infinity; their sizes are ONNX Runtime's to check
    if element not in _FLOATS:
        return f"its {label} holds ONNX element type {element}, {_FOREIGN}"
    return _magnitude_problem([_array(chunk, _FLOATS[element]) for chunk in chunks], label)


def _magnitude_problem(arrays: list[np.ndarray], label: str) -> str | None:
    """A number of `arrays` that no model of this project holds, as "its `label` holds ..."."""
    for array in arrays:
        peak = float(np.abs(array).max()) if array.size else 0.0
        if not np.isfinite(peak):
            return f"its {label} holds NaN or infinity"
        if peak > MAX_WEIGHT_MAGNITUDE:
            return (
                f"its {label} holds {peak:.3g}, beyond the {MAX_WEIGHT_MAGNITUDE:,.0f} no weight "
                "of this project's models comes near"
            )
        size = np.abs(array)
        subnormal = np.count_nonzero((size > 0) & (size < np.finfo(array.dtype).tiny))
        if array.size >= _MIN_SUBNORMAL_COUNTED and subnormal > array.size / 2:
            return (
                f"its {label} is mostly subnormal numbers (below "
                f"{np.finfo(np.float32).tiny:.2g}), which trained weights are not: it would "
                "colour every photo gray"
            )
    return None


def _fields(message: memoryview) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of each field of a protobuf message, in order: a
    varint as an int, any other value as its bytes (groups, long deprecated, are refused)."""
    at = 0
    while at < len(message):
        key, at = _varint(message, at)
        wire = key & 7
        if wire == _VARINT:
            value, at = _varint(message, at)
            yield key >> 3, wire, value
            continue
        if wire == _BYTES:
            size, at = _varint(message, at)
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
        else:
            raise _Unreadable(f"holds a field of wire type {wire}")
        if at + size > len(message):
            raise _Unreadable("is cut short")
        yield key >> 3, wire, message[at : at + size]
        at += size


def _varint(data: memoryview, at: int) -> tuple[int, int]:
    """The varint at `at` and where the next field starts."""
    value = 0
    for shift in range(0, 70, 7):
        if at >= len(data):
            raise _Unreadable("is cut short")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
    raise _Unreadable("holds a varint of more than ten bytes")


def _packed(value: Any, wire: int) -> memoryview:
    """The bytes of a field of numbers, which exporters write packed (one value per field would
    take a loop step each: a 1 GB file, minutes)."""
    if wire != _BYTES:
        raise _Unreadable("holds numbers that are not packed")
    return value


def _text(data: memoryview) -> str:
    return printable(bytes(data).decode(errors="replace"))


def _array(data: memoryview, dtype: str) -> np.ndarray:
    if len(data) % np.dtype(dtype).itemsize:
        raise _Unreadable(f"holds {len(data)} bytes of numbers of {np.dtype(dtype).itemsize}")
    return np.frombuffer(data, dtype)
