#!/usr/bin/python3
"""Independent reader of TensorBoard event files, standard library only.

Cross-checks lib/run/tensorboard.ts: parses the TFRecord framing (uint64 length, masked CRC32C of
the length, data, masked CRC32C of the data) and the protobuf wire format of `Event` / `Summary` /
`Value` (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto) with its own
bitwise CRC32C, and prints one JSON object per event:

    {"wall_time": 1764120000.0, "step": 10, "file_version": null, "scalars": {"train/loss": 6.41}}

Exits with status 1 and a message naming the record on a CRC mismatch or truncation.
Usage: read_tfevents.py FILE
"""
import json
import struct
import sys


def crc32c(data):
    # Bitwise CRC32C (Castagnoli, reflected polynomial 0x82F63B78): deliberately not table-driven,
    # so that it shares no code shape with the TypeScript implementation it checks.
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def fields(buf):
    """Yields (field number, wire type, value) of a protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield field, wire, value


def parse_event(data):
    event = {"wall_time": None, "step": 0, "file_version": None, "scalars": {}}
    for field, wire, value in fields(data):
        if field == 1 and wire == 1:
            event["wall_time"] = struct.unpack("<d", value)[0]
        elif field == 2 and wire == 0:
            event["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif field == 3 and wire == 2:
            event["file_version"] = value.decode("utf-8")
        elif field == 5 and wire == 2:
            for sfield, swire, svalue in fields(value):
                if sfield != 1 or swire != 2:
                    continue
                tag, simple = None, None
                for vfield, vwire, vvalue in fields(svalue):
                    if vfield == 1 and vwire == 2:
                        tag = vvalue.decode("utf-8")
                    elif vfield == 2 and vwire == 5:
                        simple = struct.unpack("<f", vvalue)[0]
                if tag is not None and simple is not None:
                    event["scalars"][tag] = simple
    return event


def read(path):
    with open(path, "rb") as f:
        buf = f.read()
    pos = n = 0
    events = []
    while pos < len(buf):
        if pos + 12 > len(buf):
            raise ValueError("record %d: truncated header" % n)
        length_bytes = buf[pos:pos + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        (length_crc,) = struct.unpack("<I", buf[pos + 8:pos + 12])
        if masked(crc32c(length_bytes)) != length_crc:
            raise ValueError("record %d: length CRC mismatch" % n)
        data = buf[pos + 12:pos + 12 + length]
        if len(data) != length or pos + 16 + length > len(buf):
            raise ValueError("record %d: truncated data" % n)
        (data_crc,) = struct.unpack("<I", buf[pos + 12 + length:pos + 16 + length])
        if masked(crc32c(data)) != data_crc:
            raise ValueError("record %d: data CRC mismatch" % n)
        events.append(parse_event(data))
        pos += 16 + length
        n += 1
    return events


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--crc32c":
        print("%08x" % crc32c(sys.argv[2].encode("utf-8")))
        return 0
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        events = read(sys.argv[1])
    except ValueError as e:
        print("%s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 1
    for event in events:
        print(json.dumps(event))
    return 0


if __name__ == "__main__":
    sys.exit(main())
