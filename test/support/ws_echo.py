"""A minimal WebSocket echo peer for sockline's tests (not sockline itself).

Usage: python3 ws_echo.py <port> [<parent-pid>]

Listens on 127.0.0.1:<port>, echoes every message back unchanged (text stays
text, binary stays binary), prints "ready" once it is serving and exits cleanly
on SIGTERM/SIGINT. If <parent-pid> is given, it also exits when that process is
gone (so it never outlives a test runner that died without cleaning up).

Written for the Debian `python3-websockets` package (10.x, legacy API
`websockets.serve`); it also runs on newer versions, where that name still works.
"""

import asyncio
import os
import signal
import sys

import websockets


async def echo(websocket):
    try:
        async for message in websocket:
            await websocket.send(message)
    except websockets.ConnectionClosed:
        pass


async def watch_parent(parent_pid, stop):
    # Once the parent dies this process is re-parented, so getppid() changes.
    while not stop.done():
        if os.getppid() != parent_pid:
            stop.set_result(None)
            return
        await asyncio.sleep(0.5)


async def main():
    port = int(sys.argv[1])
    parent_pid = int(sys.argv[2]) if len(sys.argv) > 2 else None
    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def request_stop():
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop)

    watcher = None
    if parent_pid is not None:
        watcher = asyncio.ensure_future(watch_parent(parent_pid, stop))

    async with websockets.serve(
        echo,
        "127.0.0.1",
        port,
        max_size=None,  # the peer under test decides the limits, not the echo
        ping_interval=None,  # stay passive: heartbeats are the client's business
        close_timeout=1,  # keep shutdown quick even if a client does not answer
    ):
        print("ready", flush=True)
        await stop

    if watcher is not None:
        watcher.cancel()


if __name__ == "__main__":
    asyncio.run(main())
