"""Small valid audio files for the fake's speech answers, made with the standard library alone.

wav, pcm and flac carry a 400 Hz tone (24 kHz, 16-bit, mono: OpenAI's pcm format), so their
samples are the same numbers in each container (FLAC as verbatim subframes, its MD5 that of the
pcm). mp3, aac and opus are valid streams of silent frames of the same length (MPEG-2 Layer III
at 32 kbit/s; ADTS AAC-LC frames with no spectral data; Ogg Opus with CELT silence packets):
encoding a tone in them would need a real encoder, and what a gateway is tested on is that the
bytes and the content type arrive intact.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave

RATE = 24_000
_PERIOD = 60  # 400 Hz at 24 kHz: a whole number of samples per period, so the tone is tiled, not computed
_CYCLE = struct.pack(f"<{_PERIOD}h", *(round(9830 * math.sin(2 * math.pi * i / _PERIOD)) for i in range(_PERIOD)))

CONTENT_TYPES = {"mp3": "audio/mpeg", "opus": "audio/opus", "aac": "audio/aac", "flac": "audio/flac",
                 "wav": "audio/wav", "pcm": "audio/pcm"}


def pcm(seconds: float) -> bytes:
    """Signed 16-bit little-endian mono samples at 24 kHz."""
    size = round(seconds * RATE) * 2
    return (_CYCLE * (size // len(_CYCLE) + 1))[:size]


def wav(samples: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(samples)
    return out.getvalue()


def encode(fmt: str, seconds: float) -> bytes:
    samples = pcm(seconds)
    if fmt == "pcm":
        return samples
    if fmt == "wav":
        return wav(samples)
    if fmt == "flac":
        return flac(samples)
    frames = len(samples) // 2
    if fmt == "mp3":
        return _MP3_FRAME * math.ceil(frames / 576)
    if fmt == "aac":
        return _ADTS_FRAME * math.ceil(frames / 1024)
    if fmt == "opus":
        return opus(frames)
    raise ValueError(f"unknown audio format {fmt!r}")


# MPEG-2 Layer III, 32 kbit/s, 24 kHz, mono, no CRC: 72 * 32000 / 24000 = 96 bytes of 576 samples;
# zero side information and main data decode as silence.
_MP3_FRAME = bytes([0xFF, 0xF3, 0x44, 0xC0]) + bytes(92)
# ADTS (MPEG-4 AAC-LC, 24 kHz, mono, no CRC, 11 bytes) + a single-channel element with max_sfb 0, then END.
_ADTS_FRAME = bytes([0xFF, 0xF1, 0x58, 0x40, 0x01, 0x7F, 0xFC, 0x00, 0x00, 0x00, 0x07])


class _Bits:
    def __init__(self) -> None:
        self.value = 0
        self.count = 0

    def put(self, value: int, width: int) -> None:
        self.value = (self.value << width) | (value & ((1 << width) - 1))
        self.count += width

    def bytes(self) -> bytes:
        pad = -self.count % 8
        return (self.value << pad).to_bytes((self.count + pad) // 8, "big")


def _crc_table(poly: int, width: int) -> list[int]:
    top, mask, table = 1 << (width - 1), (1 << width) - 1, []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
        table.append(crc)
    return table


# MSB-first CRCs with zero initial value and no final xor: FLAC's CRC-8 and CRC-16, Ogg's CRC-32
_CRC8, _CRC16, _CRC32 = _crc_table(0x07, 8), _crc_table(0x8005, 16), _crc_table(0x04C11DB7, 32)


def _crc(data: bytes, table: list[int], width: int) -> int:
    shift, mask, crc = width - 8, (1 << width) - 1, 0
    for byte in data:
        crc = ((crc << 8) & mask) ^ table[(crc >> shift) ^ byte]
    return crc


_BLOCK = 4096


def flac(samples: bytes) -> bytes:
    """FLAC with one STREAMINFO block and verbatim frames of 4096 samples."""
    count = len(samples) // 2
    info = _Bits()
    for value, width in ((_BLOCK, 16), (_BLOCK, 16), (0, 24), (0, 24), (RATE, 20), (0, 3), (15, 5), (count, 36)):
        info.put(value, width)
    streaminfo = info.bytes() + hashlib.md5(samples).digest()
    out = [b"fLaC", bytes([0x80, 0, 0, len(streaminfo)]), streaminfo]
    values = struct.unpack(f"<{count}h", samples)
    for number, start in enumerate(range(0, count, _BLOCK)):
        block = values[start:start + _BLOCK]
        head = _Bits()
        head.put(0b11111111111110, 14)
        head.put(0, 2)  # reserved, fixed block size
        head.put(0b1100 if len(block) == _BLOCK else 0b0111, 4)  # 4096, or a 16-bit size at the end of the header
        head.put(0b0111, 4)  # 24 kHz
        head.put(0, 4)  # mono
        head.put(0b100, 3)  # 16 bits per sample
        head.put(0, 1)
        header = head.bytes() + _utf8_number(number)
        if len(block) != _BLOCK:
            header += (len(block) - 1).to_bytes(2, "big")
        header += bytes([_crc(header, _CRC8, 8)])
        frame = header + b"\x02" + struct.pack(f">{len(block)}h", *block)  # verbatim subframe
        out.append(frame + _crc(frame, _CRC16, 16).to_bytes(2, "big"))
    return b"".join(out)


def _utf8_number(number: int) -> bytes:
    """A frame number in FLAC's extended UTF-8 coding (only values below 2^16 occur here)."""
    if number < 0x80:
        return bytes([number])
    if number < 0x800:
        return bytes([0xC0 | number >> 6, 0x80 | number & 0x3F])
    return bytes([0xE0 | number >> 12, 0x80 | (number >> 6) & 0x3F, 0x80 | number & 0x3F])


_OPUS_SILENCE = bytes([0xF8, 0xFF, 0xFE])  # CELT full band, 20 ms, mono, one frame: silence
_PRE_SKIP = 312
_PACKETS_PER_PAGE = 50


def opus(frames: int) -> bytes:
    """Ogg Opus: the two header pages, then pages of 20 ms silence packets covering `frames` 24 kHz samples."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, _PRE_SKIP, RATE, 0, 0)
    vendor = b"llmswitch fake upstream"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    packets = math.ceil(frames / (RATE // 50))
    pages = [_ogg_page(head, 0, 0, 0x02), _ogg_page(tags, 0, 1, 0)]
    for n, start in enumerate(range(0, packets, _PACKETS_PER_PAGE)):
        batch = min(_PACKETS_PER_PAGE, packets - start)
        granule = _PRE_SKIP + (start + batch) * 960  # Opus granules count 48 kHz samples
        last = start + batch >= packets
        pages.append(_ogg_page(_OPUS_SILENCE * batch, granule, n + 2, 0x04 if last else 0,
                               [len(_OPUS_SILENCE)] * batch))
    return b"".join(pages)


def _ogg_page(data: bytes, granule: int, sequence: int, flags: int, lacing: list[int] | None = None) -> bytes:
    segments = lacing or [255] * (len(data) // 255) + [len(data) % 255]
    page = (b"OggS" + struct.pack("<BBqIII", 0, flags, granule, 0x11F5, sequence, 0)
            + bytes([len(segments)]) + bytes(segments) + data)
    crc = _crc(page, _CRC32, 32)
    return page[:22] + struct.pack("<I", crc) + page[26:]
