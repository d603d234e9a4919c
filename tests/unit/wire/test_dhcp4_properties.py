"""Property tests for the DHCPv4 codec: round trips and totality on any input."""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path
from types import ModuleType

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from metalnet.wire.dhcp4.consts import MessageType
from metalnet.wire.dhcp4.options import Options
from metalnet.wire.dhcp4.packet import Packet, ReplyTemplate, reply_for
from metalnet.wire.errors import BadOption, WireError


def _load_fuzz_target() -> ModuleType:
    path = Path(__file__).parents[2] / "fuzz" / "fuzz_dhcp4.py"
    spec = importlib.util.spec_from_file_location("fuzz_dhcp4", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FUZZ = _load_fuzz_target()
PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
# Option codes the caller may set (0 and 255 are framing, 52 belongs to the encoder).
codes = st.integers(1, 254).filter(lambda c: c != 52)
KNOWN = [1, 3, 6, 12, 15, 28, 43, 50, 51, 53, 54, 55, 57, 58, 59, 60, 61, 66, 67, 77, 82, 93,
         94, 97, 150, 175]  # fmt: skip
values = st.one_of(st.binary(max_size=20), st.binary(min_size=250, max_size=600))


def _no_trailing_nul(limit: int) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=limit).map(lambda b: b.rstrip(b"\x00"))


@st.composite
def packets(draw: st.DrawFn) -> Packet:
    options = draw(st.dictionaries(codes, values, max_size=12))
    return Packet(
        op=draw(u8), htype=draw(u8), hlen=draw(u8), hops=draw(u8), xid=draw(u32),
        secs=draw(u16), flags=draw(u16), ciaddr=draw(u32), yiaddr=draw(u32),
        siaddr=draw(u32), giaddr=draw(u32), chaddr=draw(st.binary(min_size=16, max_size=16)),
        sname=draw(st.one_of(st.just(b""), _no_trailing_nul(64))),
        file=draw(st.one_of(st.just(b""), _no_trailing_nul(128))),
        options=Options(options),
    )  # fmt: skip


@PROFILE
@given(packets(), st.one_of(st.none(), st.integers(0, 2000)))
def test_decode_of_encode_is_identity(packet: Packet, max_size: int | None) -> None:
    wire = packet.to_wire(max_size=max_size)
    assert Packet.from_wire(wire) == packet


@PROFILE
@given(packets())
def test_encode_of_decode_is_identity_for_canonical_bytes(packet: Packet) -> None:
    wire = packet.to_wire(max_size=65535)
    assert Packet.from_wire(wire).to_wire(max_size=65535) == wire


@PROFILE
@given(st.binary(max_size=700))
@example(b"")
@example(bytes(236))
@example(bytes(300))
def test_random_bytes_decode_or_raise_wire_error(data: bytes) -> None:
    FUZZ.exercise(data)
    FUZZ.exercise(FUZZ.OPTIONS_PREFIX + data)


@PROFILE
@given(packets(), st.data())
def test_truncations_decode_or_raise_wire_error(packet: Packet, data: st.DataObject) -> None:
    wire = packet.to_wire(min_size=0)
    cut = data.draw(st.integers(0, len(wire)))
    try:
        FUZZ.exercise(wire[:cut])
    except WireError:  # pragma: no cover - exercise() swallows decode errors
        raise AssertionError("exercise leaked a WireError") from None


@PROFILE
@given(st.sampled_from(KNOWN), st.binary(max_size=40))
def test_accessors_on_random_content_raise_only_bad_option(code: int, value: bytes) -> None:
    packet = Packet.from_wire(Packet(options=Options({code: value})).to_wire())
    for name in FUZZ.ACCESSORS:
        with contextlib.suppress(BadOption):
            getattr(packet, name)


small_values = st.one_of(st.binary(max_size=20), st.binary(min_size=100, max_size=300))


@PROFILE
@given(
    packets(),
    st.sampled_from(list(MessageType)),
    st.dictionaries(st.sampled_from(KNOWN), small_values, max_size=8),
    st.one_of(st.none(), u32),
    u32,
    u32,
    st.one_of(st.just(b""), _no_trailing_nul(64)),
    st.one_of(st.just(b""), _no_trailing_nul(128)),
    st.booleans(),
)
def test_a_reply_template_renders_what_reply_for_encodes(
    request_: Packet,
    message_type: MessageType,
    options: dict[int, bytes],
    server_id: int | None,
    yiaddr: int,
    siaddr: int,
    sname: bytes,
    file: bytes,
    echo_client_id: bool,
) -> None:
    """Byte for byte, short replies and long ones (which go the overloading way) alike."""
    kwargs = {"siaddr": siaddr, "server_id": server_id, "options": options, "sname": sname,
              "file": file, "echo_client_id": echo_client_id}  # fmt: skip
    template = ReplyTemplate(message_type, **kwargs)  # type: ignore[arg-type]
    expected = reply_for(request_, message_type, yiaddr=yiaddr, **kwargs).to_wire()  # type: ignore[arg-type]
    assert template.render(request_, yiaddr) == expected
