"""Read back what W&B wrote in an offline run folder (its ``run-<id>.wandb`` file).

The file is a LevelDB-style log (a 7-byte ``:W&B`` header, then 32 KiB blocks of records,
each with a 7-byte header: checksum, length, type) of protobuf ``Record`` messages. wandb
no longer ships a Python reader for it, so the tests read it here to check what a user's
dashboard would show after ``wandb sync``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2 as pb

_BLOCK = 32 * 1024
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def records(path: Path) -> list[pb.Record]:
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run log"
    pos, out, pending = 7, [], b""
    while pos + 7 <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < 7:  # the rest of a block too small for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            break
        pending = chunk if kind in (_FULL, _FIRST) else pending + chunk
        if kind in (_FULL, _LAST):
            rec = pb.Record()
            rec.ParseFromString(pending)
            out.append(rec)
            pending = b""
    return out


def run_log(run_folder: Path) -> dict:
    """``{"run_id", "history": [dict per logged step], "config": {key: value}}``."""
    (path,) = Path(run_folder).glob("run-*.wandb")
    history, config, run_id = [], {}, None
    for rec in records(path):
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            run_id = rec.run.run_id
        elif kind == "history":
            history.append(
                {
                    i.key or "/".join(i.nested_key): json.loads(i.value_json)
                    for i in rec.history.item
                }
            )
        elif kind == "config":
            for item in rec.config.update:
                config[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return {"run_id": run_id, "history": history, "config": config}
