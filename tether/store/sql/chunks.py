"""Packing metric series into chunk columns: little-endian int64/int64/float64 arrays."""

from __future__ import annotations

import sys
from array import array
from typing import Any

_SWAP = sys.byteorder == "big"


def pack(values: array[Any]) -> bytes:
    if _SWAP:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def unpack(typecode: str, data: bytes) -> array[Any]:
    values = array(typecode)
    values.frombytes(data)
    if _SWAP:
        values.byteswap()
    return values
