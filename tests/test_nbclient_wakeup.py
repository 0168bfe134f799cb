"""The sliced poll behind notebook execution returns a reply as soon as a slice sees it and
raises Empty at the caller's deadline, as nbclient expects."""
import asyncio
import sys
from pathlib import Path
from queue import Empty
from time import monotonic

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
import nbclient_wakeup  # noqa: E402


class MissedWakeup:
    """A channel whose reply is only seen by a poll that starts after ``ready_at``."""

    def __init__(self, ready_at):
        self.ready_at = ready_at
        self.polls = []

    async def get_msg(self, timeout=None):
        self.polls.append(timeout)
        if monotonic() >= self.ready_at:
            return {"msg": "reply"}
        await asyncio.sleep(timeout)  # the wake-up is missed: sleep out the whole poll
        raise Empty


def run(channel, timeout, monkeypatch):
    monkeypatch.setattr(nbclient_wakeup, "_original_get_msg", type(channel).get_msg)
    return asyncio.run(nbclient_wakeup._get_msg_in_slices(channel, timeout=timeout))


def test_reply_is_returned_within_a_slice_of_arriving(monkeypatch):
    channel = MissedWakeup(ready_at=monotonic() + 0.3)
    start = monotonic()
    assert run(channel, 30.0, monkeypatch) == {"msg": "reply"}
    assert monotonic() - start < 0.3 + 2 * nbclient_wakeup.SLICE_SECONDS
    assert max(channel.polls) <= nbclient_wakeup.SLICE_SECONDS


def test_empty_is_raised_at_the_deadline(monkeypatch):
    channel = MissedWakeup(ready_at=float("inf"))
    start = monotonic()
    try:
        run(channel, 0.6, monkeypatch)
    except Empty:
        elapsed = monotonic() - start
    else:
        raise AssertionError("expected Empty")
    assert 0.6 <= elapsed < 0.6 + nbclient_wakeup.SLICE_SECONDS


def test_patch_installs_on_jupyter_client():
    from jupyter_client.channels import AsyncZMQSocketChannel

    nbclient_wakeup.patch()
    assert AsyncZMQSocketChannel.get_msg is nbclient_wakeup._get_msg_in_slices
