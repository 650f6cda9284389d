"""The address watch tells each subscriber which addresses went and which came, once per change."""

import asyncio

from ephem.peer.netwatch import AddressWatch, host_addresses, watch


async def test_each_change_is_told_once_as_gone_and_added():
    addresses = {"192.0.2.1", "fd00::1"}
    watcher = AddressWatch(read=lambda: set(addresses), interval=3600)
    heard, also = [], []
    unsubscribe = watcher.subscribe(lambda gone, added: heard.append((gone, added)))
    watcher.subscribe(lambda gone, added: also.append((gone, added)))
    watcher.check()
    assert heard == []  # nothing changed since subscribing
    addresses.discard("192.0.2.1")
    addresses.add("192.0.2.7")
    watcher.check()
    watcher.check()
    assert heard == also == [({"192.0.2.1"}, {"192.0.2.7"})]
    unsubscribe()
    addresses.add("192.0.2.8")
    watcher.check()
    assert heard == [({"192.0.2.1"}, {"192.0.2.7"})] and also[-1] == (set(), {"192.0.2.8"})


async def test_a_failing_listener_does_not_stop_the_others():
    addresses = {"192.0.2.1"}
    watcher = AddressWatch(read=lambda: set(addresses), interval=3600)
    heard = []

    def broken(gone, added):
        raise RuntimeError("boom")

    watcher.subscribe(broken)
    watcher.subscribe(lambda gone, added: heard.append(gone))
    addresses.clear()
    watcher.check()
    assert heard == [{"192.0.2.1"}]


async def test_the_watch_polls_until_its_last_subscriber_goes():
    addresses = {"192.0.2.1"}
    watcher = AddressWatch(read=lambda: set(addresses), interval=0.01)
    heard = []
    unsubscribe = watcher.subscribe(lambda gone, added: heard.append(added))
    addresses.add("192.0.2.2")
    for _ in range(100):
        if heard:
            break
        await asyncio.sleep(0.01)
    assert heard == [{"192.0.2.2"}]
    task = watcher._task
    unsubscribe()
    await asyncio.sleep(0.02)
    assert task.cancelled()


async def test_the_running_loop_has_one_watch_of_the_hosts_addresses():
    assert "127.0.0.1" not in host_addresses()  # what ICE gathers from: no loopback
    first, second = [], []
    stop_first = watch(lambda gone, added: first.append(gone))
    stop_second = watch(lambda gone, added: second.append(gone))
    stop_first()
    stop_second()
    assert first == second == []
