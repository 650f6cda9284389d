"""A delay line for a router namespace: every packet it forwards waits --delay-ms, and --loss-percent are lost.

Does what `tc qdisc ... netem delay ... loss ...` does, for kernels without
sch_netem (this one has none): the router sends everything it forwards, in
both directions, through a TUN device; this process reads each packet, drops
some at random, and writes the rest back after the delay, and the kernel
routes them on from there.

    ip netns exec ROUTER python -m tests.netlab.delayline --lan-cidr 10.77.1.0/24 --delay-ms 75 --loss-percent 1.5
"""

import argparse
import asyncio
import fcntl
import os
import random
import struct
import subprocess

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
DEVICE = "delay"


def ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True)


def open_tun() -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", DEVICE.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def route_through(lan_cidr: str) -> None:
    """Everything from the LAN and everything to it goes through the TUN device once."""
    for key in ("all", "default", DEVICE):
        subprocess.run(["sysctl", "-q", "-w", f"net.ipv4.conf.{key}.rp_filter=0"], check=True)
    ip("link", "set", DEVICE, "up")
    ip("route", "add", "default", "dev", DEVICE, "table", "100")
    ip("rule", "add", "iif", "lan", "lookup", "100")
    ip("route", "add", lan_cidr, "dev", DEVICE, "table", "101")
    ip("rule", "add", "iif", "wan", "lookup", "101")


async def run(args) -> None:
    fd = open_tun()
    route_through(args.lan_cidr)
    loop = asyncio.get_running_loop()
    delay, loss = args.delay_ms / 1000, args.loss_percent / 100

    def write(packet: bytes) -> None:
        try:
            os.write(fd, packet)
        except OSError:
            pass  # the device's queue is full: lost, as on a congested link

    def forward():
        while True:
            try:
                packet = os.read(fd, 65536)
            except BlockingIOError:
                return
            if random.random() >= loss:
                loop.call_later(delay, write, packet)

    loop.add_reader(fd, forward)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--lan-cidr", required=True)
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--loss-percent", type=float, required=True)
    asyncio.run(run(parser.parse_args()))
