"""A forked worker's layer handed to the parent through a shared memory file, not the pipe.

Pickled through the pipe, the poles' and cables' layers (1.1 M rows) cost the worker a copy to
pickle them and the parent a second second of CPU to unpickle them, while it has the writing to
do. Instead the worker writes the layer's Arrow arrays to an anonymous file (memfd_create on
Linux: memory, no name, so nothing is left behind when either process is killed) that both sides
of the fork hold open, and the parent maps it: its arrays are the worker's bytes, not copies.
The pipe carries only the names (export_parallel.ForkedJob).
"""

from __future__ import annotations

import mmap
import os
import tempfile

import pyarrow as pa


def shared_file() -> int:
    """A file descriptor for an anonymous file a forked child inherits."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("hatang-export-layer", os.MFD_CLOEXEC)
    with tempfile.TemporaryFile() as f:   # a name-less temporary file elsewhere
        return os.dup(f.fileno())


def put(fd: int, arrays: list[pa.Array]) -> None:
    """In the worker: `arrays` (all of one length) into the shared file."""
    table = pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
    with open(fd, "wb", closefd=False) as f, pa.ipc.new_file(f, table.schema) as writer:
        writer.write_table(table)


def take(fd: int) -> list[pa.Array]:
    """In the parent, once the worker has finished: the arrays `put` wrote, mapped (no copy);
    the descriptor is closed (the mapping stays)."""
    try:
        size = os.fstat(fd).st_size
        mapped = mmap.mmap(fd, size, prot=mmap.PROT_READ) if hasattr(mmap, "PROT_READ") else \
            mmap.mmap(fd, size, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)
    table = pa.ipc.open_file(pa.py_buffer(mapped)).read_all()
    return [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks() for c in table.columns]
