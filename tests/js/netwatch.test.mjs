// The page's address watch (assets/ephem/netwatch.js), the cases of
// tests/peer/test_netwatch.py for its Python twin. Reading the addresses
// needs a browser (tests/netlab/test_browsers.py moves one); here `read` is
// given, and `check` called by hand.

import assert from "node:assert/strict";
import { test } from "node:test";
import { AddressWatch } from "../../assets/ephem/netwatch.js";

const HOUR = 3600 * 1000;

test("each change is told once, as gone and added; the first read is only where it starts", async () => {
  const addresses = new Set(["192.0.2.1", "fd00::1"]);
  const watch = new AddressWatch(async () => new Set(addresses), HOUR);
  const heard = [];
  const also = [];
  const unsubscribe = watch.subscribe((gone, added) => heard.push([[...gone], [...added]]));
  const unsubscribeToo = watch.subscribe((gone, added) => also.push([[...gone], [...added]]));
  await watch.check();
  await watch.check();
  assert.deepEqual(heard, []);
  addresses.delete("192.0.2.1");
  addresses.add("192.0.2.7");
  await watch.check();
  await watch.check();
  assert.deepEqual(heard, [[["192.0.2.1"], ["192.0.2.7"]]]);
  assert.deepEqual(also, heard);
  unsubscribe();
  addresses.add("192.0.2.8");
  await watch.check();
  assert.equal(heard.length, 1);
  assert.deepEqual(also.at(-1), [[], ["192.0.2.8"]]);
  unsubscribeToo();
});

test("a failing listener does not stop the others", async () => {
  const addresses = new Set(["192.0.2.1"]);
  const watch = new AddressWatch(async () => new Set(addresses), HOUR);
  const heard = [];
  const warn = console.warn;
  console.warn = () => {};
  try {
    const stops = [
      watch.subscribe(() => {
        throw new Error("boom");
      }),
      watch.subscribe((gone) => heard.push([...gone])),
    ];
    await watch.check();
    addresses.clear();
    await watch.check();
    stops.forEach((stop) => stop());
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(heard, [["192.0.2.1"]]);
});

test("addresses hidden behind mDNS names (read gives null) tell nothing", async () => {
  let hidden = false;
  const watch = new AddressWatch(async () => (hidden ? null : new Set(["192.0.2.1"])), HOUR);
  const heard = [];
  const stop = watch.subscribe((gone, added) => heard.push([gone, added]));
  await watch.check();
  hidden = true;
  await watch.check();
  assert.deepEqual(heard, []);
  stop();
});

test("the watch stops with its last subscriber, and starts again from a fresh read", async () => {
  const addresses = new Set(["192.0.2.1"]);
  const watch = new AddressWatch(async () => new Set(addresses), HOUR);
  const first = watch.subscribe(() => assert.fail("not subscribed any more"));
  await watch.check();
  first();
  assert.equal(watch.timer, null);
  addresses.add("192.0.2.2"); // changed while nobody watched: not a change for the next watch
  const heard = [];
  const again = watch.subscribe((gone, added) => heard.push([...added]));
  await watch.check();
  assert.deepEqual(heard, []);
  addresses.add("192.0.2.3");
  await watch.check();
  assert.deepEqual(heard, [["192.0.2.3"]]);
  again();
});
