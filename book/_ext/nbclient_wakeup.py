"""Work around a missed wake-up when nbclient waits for a cell's reply.

nbclient waits for a cell's ``execute_reply`` with one ``poll`` of the kernel's shell socket
that lasts the whole cell timeout. Now and then (more often on a busy machine) the zmq.asyncio
poll misses the socket becoming readable; it then sleeps until the timeout, finds the reply in
its final check and carries on. The notebook's results are right, but the cell "took" the whole
timeout: 120 s in the book build, 300 s in earlier runs of scripts/run_notebook.py. This is
nbclient issue #312 (open).

The patch polls in short slices up to the same deadline, so a missed wake-up costs at most one
slice. It changes nothing else: a message is returned as soon as it is seen, and ``Empty`` is
raised at the deadline exactly as before.

Used as a Sphinx extension (the book build executes notebooks in-process through myst-nb and
jupyter-cache) and imported by scripts/run_notebook.py.
"""
from __future__ import annotations

from queue import Empty
from time import monotonic

from jupyter_client.channels import AsyncZMQSocketChannel

SLICE_SECONDS = 0.25
_original_get_msg = AsyncZMQSocketChannel.get_msg


async def _get_msg_in_slices(self, timeout: float | None = None):
    deadline = None if timeout is None else monotonic() + timeout
    while True:
        remaining = SLICE_SECONDS if deadline is None else max(0.0, deadline - monotonic())
        try:
            return await _original_get_msg(self, timeout=min(SLICE_SECONDS, remaining))
        except Empty:
            if deadline is not None and monotonic() >= deadline:
                raise


def patch() -> None:
    """Install the sliced poll (idempotent)."""
    AsyncZMQSocketChannel.get_msg = _get_msg_in_slices


def setup(app):
    patch()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
