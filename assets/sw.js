// The service worker: what makes ephem installable and lets it open offline to
// a clear "No connection" page (offline.html). Pages and their files come from
// the network first (a deploy is seen at once) and from this cache only when
// the network fails; nothing of the API, the sockets or any other origin is
// ever kept, and messages never pass through here (they are peer to peer).

const CACHE = "ephem-shell-v1";
const SHELL = ["/", "/offline.html", "/manifest.webmanifest", "/icons/icon-192.png", "/icons/icon-512.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // One file that fails (a dev server's "/" still compiling) must not stop the rest.
      .then((cache) => Promise.all(SHELL.map((url) => cache.add(url).catch(() => null))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

// The app's own static files: same origin, GET, not the backend's paths.
function cacheable(request) {
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return false;
  if (/^\/(api|_event|_upload|ping|_health|_all_routes)(\/|$)/.test(url.pathname)) return false;
  // A development server's modules (Vite's /@…, /node_modules/…) change on every edit: not ours to keep.
  return !/^\/(@|node_modules\/)/.test(url.pathname);
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (!cacheable(request)) return; // the browser's own handling
  event.respondWith(
    fetch(request)
      .then((response) => {
        // Keep a copy of what worked, for the next time the network is gone.
        if (response.ok && response.type === "basic") {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(async () => {
        const cached = await caches.match(request);
        if (cached && request.mode !== "navigate") return cached;
        // A page: the app needs the network anyway, so say so plainly.
        if (request.mode === "navigate") return (await caches.match("/offline.html")) || Response.error();
        return Response.error();
      }),
  );
});
