"""The sliced poll behind notebook execution returns a reply as soon as a slice sees it and
raises Empty at the caller's deadline, as nbclient expects.

No real time passes: the module's clock is replaced by a fake one that only the fake channel
moves forward (by the whole poll, as a poll that misses its wake-up does). The tests count the
polls and read the fake clock, so a slow or busy machine cannot change their outcome.
"""
import asyncio
import math
import sys
import threading
from pathlib import Path
from queue import Empty

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
import nbclient_wakeup  # noqa: E402

SLICE = nbclient_wakeup.SLICE_SECONDS


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class MissedWakeup:
    """A channel whose reply (ready at ``ready_at`` on the fake clock) is only seen by a poll
    that starts after it: a poll that misses the wake-up lasts its whole timeout."""

    def __init__(self, clock, ready_at):
        self.clock, self.ready_at = clock, ready_at
        self.polls = []

    async def get_msg(self, timeout=None):
        self.polls.append(timeout)
        if self.clock.now >= self.ready_at:
            return {"msg": "reply"}
        self.clock.now += timeout  # the wake-up is missed: the poll sleeps out its timeout
        raise Empty


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(nbclient_wakeup, "monotonic", fake)
    return fake


def run(channel, timeout, monkeypatch):
    """Run the sliced poll to its end on a new event loop in its own thread: a test that ran
    earlier in this worker (Playwright's sync API, say) may have left this thread's loop set."""
    monkeypatch.setattr(nbclient_wakeup, "_original_get_msg", type(channel).get_msg)
    outcome = {}

    def target():
        try:
            outcome["value"] = asyncio.run(
                nbclient_wakeup._get_msg_in_slices(channel, timeout=timeout))
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_reply_is_returned_by_the_first_slice_after_it_arrives(clock, monkeypatch):
    channel = MissedWakeup(clock, ready_at=0.3)
    assert run(channel, 30.0, monkeypatch) == {"msg": "reply"}
    assert channel.polls == [SLICE] * math.ceil(0.3 / SLICE) + [SLICE]
    assert 0.3 <= clock.now < 0.3 + SLICE  # not the 30 s of one missed whole-timeout poll


def test_a_waiting_reply_takes_one_poll(clock, monkeypatch):
    channel = MissedWakeup(clock, ready_at=0.0)
    assert run(channel, 30.0, monkeypatch) == {"msg": "reply"}
    assert channel.polls == [SLICE] and clock.now == 0.0


def test_empty_is_raised_at_the_deadline(clock, monkeypatch):
    channel = MissedWakeup(clock, ready_at=math.inf)
    with pytest.raises(Empty):
        run(channel, 0.6, monkeypatch)
    # two whole slices, then the remainder up to the deadline, and no poll after it
    assert channel.polls == pytest.approx([SLICE, SLICE, 0.6 - 2 * SLICE])
    assert clock.now == pytest.approx(0.6)


def test_no_timeout_polls_in_slices_until_the_reply(clock, monkeypatch):
    channel = MissedWakeup(clock, ready_at=10 * SLICE)
    assert run(channel, None, monkeypatch) == {"msg": "reply"}
    assert channel.polls == [SLICE] * 11


def test_patch_installs_on_jupyter_client():
    from jupyter_client.channels import AsyncZMQSocketChannel

    nbclient_wakeup.patch()
    assert AsyncZMQSocketChannel.get_msg is nbclient_wakeup._get_msg_in_slices
