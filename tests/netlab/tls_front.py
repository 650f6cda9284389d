"""A TLS front for the lab: takes TLS on one address and passes the plain bytes to another.

What a deployment's reverse proxy does for HTTPS, so lab browsers can load the
site and reach the backend from a secure origin (https:// page, wss:// socket)
with the same static server and backend as the plain-HTTP tests.

    python -m tests.netlab.tls_front --listen 100.64.0.13:443 --to 100.64.0.12:8443 --cert C --key K

prints `ready` once listening, and serves until killed.
"""

import argparse
import asyncio
import ssl
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, TimeoutError):
        pass  # either side went away: the other is closed below
    finally:
        writer.close()


def quiet(loop, context) -> None:
    # A browser that moved away leaves its TLS connection to time out: one line, not a traceback.
    print(f"tls_front: {context.get('message')}: {context.get('exception')!r}", file=sys.stderr, flush=True)


async def main(args) -> None:
    asyncio.get_running_loop().set_exception_handler(quiet)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    to_host, to_port = args.to.rsplit(":", 1)

    async def serve(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(to_host, int(to_port))
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    host, port = args.listen.rsplit(":", 1)
    server = await asyncio.start_server(serve, host, int(port), ssl=context)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--to", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    asyncio.run(main(parser.parse_args()))
