"""A process-evaluator worker with one fault injected, for tests/test_process_evaluator.py.

    python tests/fault_worker.py FAULT FD

It is the real worker (evaluators/process/worker.py) with one behaviour replaced. Faults that
fire on a trigger do so on the first TURN or CALL whose messages contain the text `__fault__`:
- exit: os._exit(7) (a worker that quits without a word)
- segv: a real segmentation fault (a NULL read through ctypes)
- garbage: answers with bytes that are not a frame
- oversize: answers with a header announcing a frame larger than the channel allows
- truncate: answers with half a frame, then hangs
- noisy: writes to its own stdout and stderr on every turn (which must not reach the channel)
"""

from __future__ import annotations

import ctypes
import os
import sys
import time

from evaluators.process import frames as process_frames
from evaluators.process import worker as process_worker

TRIGGER = b"__fault__"


def main() -> None:
    fault = sys.argv[1]
    engine_turn = process_worker.turn
    channel_write = process_worker.Channel.write
    armed = {"now": False}

    engine_call = process_worker.call

    def call(engine: process_worker.QuickJSEngine, budget: process_worker.Budget, url: str,
             request: str) -> tuple[str, str]:
        turn(engine, budget, b"__fault__" if TRIGGER.decode() in request else b"")
        return engine_call(engine, budget, url, request)

    def turn(engine: process_worker.QuickJSEngine, budget: process_worker.Budget, text: bytes) -> str:
        if fault == "noisy":
            os.write(1, b"MR\x11\xff\xff\xff\xff stdout noise\n")
            os.write(2, b"stderr noise\n")
        if TRIGGER in text:
            if fault == "exit":
                os._exit(7)
            if fault == "segv":
                ctypes.string_at(0)
            armed["now"] = True
        return engine_turn(engine, budget, text)

    def write(self: process_worker.Channel, frame: bytes) -> None:
        if armed["now"]:
            if fault == "garbage":
                self.sock.sendall(b"this is not a frame at all\n" * 10)
                time.sleep(60)
            if fault == "oversize":
                self.sock.sendall(process_frames.HEADER.pack(process_frames.MAGIC, process_frames.OUT, 2**31))
                time.sleep(60)
            if fault == "truncate":
                self.sock.sendall(frame[: max(1, len(frame) // 2)])
                time.sleep(60)
        channel_write(self, frame)

    process_worker.turn = turn
    process_worker.call = call
    process_worker.Channel.write = write  # type: ignore[method-assign]
    process_worker.main([sys.argv[0], sys.argv[2]])


if __name__ == "__main__":
    main()
