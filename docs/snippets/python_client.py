"""redis-py (5.x) against redis-seq: a retrying send, the authoritative pull, replies
under RESP2 and RESP3, a blocking SEQ.SYNC with a socket timeout above BLOCK.

Run by tests/it/clients_py.rs against a test server: SEQ_URL=redis://127.0.0.1:<port>/ python3 this.py
"""
import os
import time
import uuid

import redis
from redis.exceptions import BusyLoadingError, ConnectionError, ReadOnlyError, ResponseError, TimeoutError

URL = os.environ.get("SEQ_URL", "redis://127.0.0.1:6379/")
DEDUP_WINDOW_S = 86400.0  # the server's seq.dedup-window-ms / 1000


def is_retryable(e):
    """Errors after which the same client-msg-id is sent again (never a plain ERR)."""
    if isinstance(e, (ConnectionError, TimeoutError, BusyLoadingError, ReadOnlyError)):
        return True
    code = str(e).split(" ", 1)[0] if isinstance(e, ResponseError) else ""
    return code in ("TRYAGAIN", "MOVED", "ASK", "CLUSTERDOWN", "MASTERDOWN", "LOADING", "READONLY")


def send(r, key, payload, msg_id=None):
    """SEQ.ALLOC with one client-msg-id for every attempt, for at most half the window."""
    msg_id = msg_id or uuid.uuid4().hex
    started, pause = time.monotonic(), 0.01
    while True:
        try:
            return int(r.execute_command("SEQ.ALLOC", key, msg_id, payload))
        except Exception as e:  # noqa: BLE001 - classified right below
            if not is_retryable(e) or time.monotonic() - started + pause >= DEDUP_WINDOW_S / 2:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def entry(raw):
    """[seq, client-msg-id, ts, payload] -> a tuple with ints and bytes."""
    seq, msg_id, ts, payload = raw
    return int(seq), bytes(msg_id), int(ts), bytes(payload)


def pull(r, key, after, count=100):
    """SEQ.LAST and SEQ.RANGE in one MULTI: every seq in (after, last] that the range does
    not return (and that a full page does not leave open) will never exist."""
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("SEQ.LAST", key)
    pipe.execute_command("SEQ.RANGE", key, after + 1, "+", "COUNT", count)
    last, raw = pipe.execute()
    entries = [entry(e) for e in raw]
    settled = entries[-1][0] if len(entries) == count else int(last)
    return int(last), entries, settled


def info(r, key):
    """SEQ.INFO as a dict of str -> int: a map under RESP3, a flat array under RESP2."""
    reply = r.execute_command("SEQ.INFO", key)
    if reply is None:
        return None
    if isinstance(reply, dict):
        pairs = reply.items()
    else:
        pairs = zip(reply[0::2], reply[1::2])
    return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in pairs}


def main():
    key = "conv:{py-%s}" % uuid.uuid4().hex[:8]
    for protocol in (2, 3):
        r = redis.Redis.from_url(URL, protocol=protocol)
        k = "%s:%d" % (key, protocol)
        first = send(r, k, b"hello", msg_id="m-1")
        assert first == 1, first
        assert send(r, k, b"hello again", msg_id="m-1") == 1, "a retry gets the first seq back"
        assert send(r, k, b"second") == 2
        last, entries, settled = pull(r, k, 0)
        assert (last, settled) == (2, 2), (last, settled)
        assert [e[0] for e in entries] == [1, 2] and entries[0][3] == b"hello", entries
        i = info(r, k)
        assert i["last"] == 2 and i["length"] == 2 and i["first"] == 1, i
        assert info(r, k + ":missing") is None
        try:
            r.execute_command("SEQ.ALLOC", k, "")
            raise AssertionError("an empty client-msg-id must be refused")
        except ResponseError as e:
            assert not is_retryable(e), e

        # A blocking pull: the socket timeout must exceed BLOCK, or the client gives up
        # on a read the server would still answer.
        block_ms = 200
        blocking = redis.Redis.from_url(URL, protocol=protocol, socket_timeout=block_ms / 1000 + 2)
        t0 = time.monotonic()
        last, got = blocking.execute_command("SEQ.SYNC", k, "phone", "AFTER", 2, "BLOCK", block_ms)
        assert int(last) == 2 and list(got) == [] and time.monotonic() - t0 >= block_ms / 1000 * 0.9
        print("protocol %d: ok" % protocol)


if __name__ == "__main__":
    main()
