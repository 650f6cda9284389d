// Registers the service worker (assets/sw.js) that makes the site installable
// and opens it offline to "No connection". Imported by the entry module, which
// every page loads; after the page's load, so it never competes with it.

export function registerServiceWorker() {
  if (typeof window === "undefined" || !("serviceWorker" in navigator)) return;
  const register = () =>
    navigator.serviceWorker.register("/sw.js").catch((err) => console.warn("ephem: no service worker:", err));
  if (document.readyState === "complete") register();
  else window.addEventListener("load", register, { once: true });
}
