"""The listener-worker messages: what is encoded reads back, and anything else is refused."""

from __future__ import annotations

import json

import pytest

from metalnet.boot import tftp_handoff as handoff
from metalnet.boot.tftp_config import TftpCounters
from metalnet.boot.tftp_runner import Report
from metalnet.boot.tftp_transfer import Negotiation, Status
from metalnet.wire.tftp.packet import OACK


@pytest.mark.parametrize(
    "negotiation",
    [
        Negotiation(),
        Negotiation(1468, 16, 2.5, OACK((("blksize", "1468"), ("windowsize", "16")))),
        Negotiation(512, 1, 3.0, OACK((("tsize", "0"),))),
    ],
)
def test_start_reads_back(negotiation: Negotiation) -> None:
    message = handoff.decode(handoff.encode_start(7, 12345, negotiation))
    assert message == handoff.Start(7, 12345, negotiation)


def test_cancel_and_ready_read_back() -> None:
    assert handoff.decode(handoff.encode_cancel(3)) == handoff.Cancel(3)
    assert handoff.decode(handoff.READY) == handoff.Ready()


def test_done_reads_back_with_its_counters() -> None:
    counters = TftpCounters(data_sent=10, bytes_sent=5000, retransmits=2, drops={"stale-ack": 3})
    report = Report(Status.ABORTED, "client sent error 8: ", counters)
    assert handoff.decode(handoff.encode_done(9, report)) == handoff.Done(9, report)


def _done(**changes: object) -> bytes:
    fields = json.loads(handoff.encode_done(4, Report(Status.COMPLETED)))
    fields.update(changes)
    return json.dumps(fields).encode()


def _start(**changes: object) -> bytes:
    fields = json.loads(handoff.encode_start(4, 10, Negotiation()))
    fields.update(changes)
    return json.dumps(fields).encode()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"op": "ready", "extra": 1}',
        b'{"op": "start"}',
        b'{"op": "cancel", "id": -1}',
        b'{"op": "cancel", "id": true}',
        b'{"op": "cancel", "id": 1.5}',
        b"[" * 100_000,
    ],
)
def test_unreadable_messages_are_refused(data: bytes) -> None:
    with pytest.raises(handoff.HandoffError) as caught:
        handoff.decode(data)
    assert caught.value.transfer is None


@pytest.mark.parametrize(
    "data",
    [
        b'{"op": "shout", "id": 4}',
        _start(size=-1),
        _start(blksize=7),
        _start(windowsize=0),
        _start(timeout=0),
        _start(timeout="1"),
        _start(timeout=False),
        _start(oack=[["blksize"]]),
        _start(oack=[["blksize", 1468]]),
        _start(oack="blksize"),
        _done(status="running"),
        _done(status="lost"),
        _done(reason=None),
        _done(counters={**json.loads(_done())["counters"], "retransmits": -1}),
        _done(counters={"data_sent": 1}),
        _done(counters={**json.loads(_done())["counters"], "extra": 0}),
        _done(counters={**json.loads(_done())["counters"], "drops": {"x": "1"}}),
        _done(counters={**json.loads(_done())["counters"], "drops": {"x" * 65: 1}}),
        _done(counters={**json.loads(_done())["counters"], "bytes_sent": None}),
    ],
)
def test_malformed_messages_name_their_transfer(data: bytes) -> None:
    with pytest.raises(handoff.HandoffError) as caught:
        handoff.decode(data)
    assert caught.value.transfer == 4
