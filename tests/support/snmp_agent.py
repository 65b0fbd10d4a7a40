"""A managed switch's SNMP agent, emulated on a UDP port of localhost (test support).

It answers SNMP v2c GET requests (RFC 3416) for IF-MIB's ifOperStatus
(1.3.6.1.2.1.2.2.1.8.<ifIndex>: 1 up, 2 down) from ``statuses``, which the
test changes as plugs go in and out; any other object gets noSuchObject, a
wrong community no answer (as a real agent). Messages are BER (X.690) as on
the wire: SEQUENCE { version, community, GetRequest-PDU [0] { request-id,
error-status, error-index, SEQUENCE OF { name, value } } }, answered with a
Response-PDU [2]. Runs in a thread; use as a context manager; ``port`` is its
UDP port. ``silent`` makes it stop answering (a switch that went away).
"""
from __future__ import annotations

import socket
import threading

IF_OPER_STATUS = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
SEQUENCE, INTEGER, OCTETS, NULL, OID, GET, RESPONSE, NO_SUCH_OBJECT = 0x30, 0x02, 0x04, 0x05, 0x06, 0xA0, 0xA2, 0x80


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _length(len(value)) + value


def integer(v: int) -> bytes:
    return tlv(INTEGER, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def parse(data: bytes, at: int = 0) -> tuple[int, bytes, int]:
    """(tag, value, the offset after it) of the TLV at ``at``."""
    tag, n = data[at], data[at + 1]
    at += 2
    if n & 0x80:
        k = n & 0x7F
        n, at = int.from_bytes(data[at:at + k], "big"), at + k
    return tag, data[at:at + n], at + n


def children(value: bytes) -> list[tuple[int, bytes]]:
    out, at = [], 0
    while at < len(value):
        tag, v, at = parse(value, at)
        out.append((tag, v))
    return out


def decode_oid(value: bytes) -> tuple[int, ...]:
    parts, n = [value[0] // 40, value[0] % 40], 0
    for b in value[1:]:
        n = (n << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(n)
            n = 0
    return tuple(parts)


class SnmpAgent:
    def __init__(self, statuses: dict[int, int], community: str = "public"):
        self.statuses, self.community = statuses, community
        self.silent = False
        self.requests = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "SnmpAgent":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(65535)
            except socket.timeout:
                continue
            reply = None if self.silent else self.answer(data)
            if reply is not None:
                self._sock.sendto(reply, peer)

    def answer(self, data: bytes) -> bytes | None:
        tag, message, _ = parse(data)
        (_, version), (_, community), (pdu_tag, pdu) = children(message)
        if tag != SEQUENCE or community.decode() != self.community or pdu_tag != GET:
            return None
        self.requests += 1
        (_, request_id), _, _, (_, binds) = children(pdu)
        out = b""
        for _, bind in children(binds):
            (_, name), _ = children(bind)
            oid = decode_oid(name)
            index = oid[len(IF_OPER_STATUS)] if oid[:len(IF_OPER_STATUS)] == IF_OPER_STATUS and \
                len(oid) == len(IF_OPER_STATUS) + 1 else None
            value = integer(self.statuses[index]) if index in self.statuses else tlv(NO_SUCH_OBJECT, b"")
            out += tlv(SEQUENCE, tlv(OID, name) + value)
        pdu = tlv(INTEGER, request_id) + integer(0) + integer(0) + tlv(SEQUENCE, out)
        return tlv(SEQUENCE, tlv(INTEGER, version) + tlv(OCTETS, community) + tlv(RESPONSE, pdu))
