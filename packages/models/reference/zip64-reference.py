"""A PyTorch-style checkpoint in ZIP64 form, written by Python's own pickle and zipfile modules.

torch.save writes a ZIP archive (archive/data.pkl, archive/data/<key>, archive/version); past 4 GiB it carries ZIP64
records: a ZIP64 end record and locator, and per entry a ZIP64 extra field holding the 64-bit sizes and offset. Real
checkpoints that large cannot live in the repository, so this script makes a tiny one in which every record that may
be ZIP64 is: it lowers zipfile's ZIP64 limits to 0. The pickle is made by Python's pickle module (protocol 2, as
torch.save uses) with stand-ins for torch's two globals, so neither torch nor our own writer is involved.

Usage: python3 zip64-reference.py <output.json>
The JSON holds the archive (base64) and what zipfile itself reads back from it (names, sizes, where each entry's data
starts), which test/pytorch-zip64.test.ts compares with readZipDirectory and openPyTorchCheckpoint.
"""

import base64
import collections
import io
import json
import pickle
import struct
import sys
import types
import zipfile

# Stand-ins for torch._utils._rebuild_tensor_v2 and torch.FloatStorage: pickle records globals by module and name.
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")


def _rebuild_tensor_v2(*arguments):
    raise NotImplementedError


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
FloatStorage = type("FloatStorage", (), {"__module__": "torch"})
torch.FloatStorage = FloatStorage
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


class Storage:
    def __init__(self, key, elements):
        self.key, self.elements = key, elements


class Tensor:
    def __init__(self, storage, offset, shape, strides):
        self.storage, self.offset, self.shape, self.strides = storage, offset, shape, strides

    def __reduce__(self):
        return (_rebuild_tensor_v2, (self.storage, self.offset, self.shape, self.strides, False, collections.OrderedDict()))


class CheckpointPickler(pickle.Pickler):
    def persistent_id(self, value):
        if isinstance(value, Storage):
            return ("storage", FloatStorage, value.key, "cpu", value.elements)
        return None


storages = {"0": [0.5 * index for index in range(6)], "1": [-1.0, 2.0, -3.0, 4.0]}
state = collections.OrderedDict()
state["embed.weight"] = Tensor(Storage("0", 6), 0, (2, 3), (3, 1))
state["norm.weight"] = Tensor(Storage("1", 4), 1, (3,), (1,))
pickled = io.BytesIO()
CheckpointPickler(pickled, protocol=2).dump(state)

zipfile.ZIP64_LIMIT = 0
zipfile.ZIP_FILECOUNT_LIMIT = 0
archive = io.BytesIO()
with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as output:
    def write(name, payload):
        output.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), payload)  # fixed dates: same bytes each run

    write("archive/data.pkl", pickled.getvalue())
    for key, values in storages.items():
        write(f"archive/data/{key}", struct.pack(f"<{len(values)}f", *values))
    write("archive/byteorder", b"little")
    write("archive/version", b"3\n")
    output.comment = b"zip64 reference"
data = bytearray(archive.getvalue())
# zipfile still writes the true (small) values into the classic end record; a >4 GiB checkpoint holds 0xFFFF /
# 0xFFFFFFFF there, as the ZIP specification (APPNOTE 4.4.1.4) says, so a reader must take them from the ZIP64 record.
end = data.rindex(struct.pack("<I", 0x06054B50))
struct.pack_into("<HHII", data, end + 8, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
data = bytes(data)

entries = []
with zipfile.ZipFile(io.BytesIO(data)) as reread:
    for info in reread.infolist():
        name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
        entries.append({
            "name": info.filename,
            "method": info.compress_type,
            "size": info.file_size,
            "compressedSize": info.compress_size,
            "headerOffset": info.header_offset,
            "dataOffset": info.header_offset + 30 + name_length + extra_length,
            "zip64Extra": any(struct.unpack_from("<H", info.extra, at)[0] == 1 for at in range(0, len(info.extra) - 1, 2)),
        })

json.dump({
    "python": sys.version.split()[0],
    "archive": base64.b64encode(data).decode("ascii"),
    "entries": entries,
    "tensors": {
        "embed.weight": {"shape": [2, 3], "values": storages["0"]},
        "norm.weight": {"shape": [3], "values": storages["1"][1:]},
    },
}, open(sys.argv[1], "w"), indent=1)
