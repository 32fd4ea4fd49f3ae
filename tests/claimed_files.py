"""Tiny files whose headers claim far more than they hold, built byte by byte for limit tests."""

import struct


def claimed_gif(width: int, height: int, frames: int) -> bytes:
    """A GIF whose canvas is `width` x `height` and whose `frames` frames each paint one pixel:
    15 bytes a frame, yet every frame decodes to the whole canvas."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + bytes(6)
    # One 1x1 frame: its position and size, then LZW codes clear, pixel 0, end in one block.
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame * frames + b"\x3b"
