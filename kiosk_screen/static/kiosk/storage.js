// What the kiosk keeps on the device (localStorage): its key, and the last good menu per order mode with
// its ETag, so a restart during an outage still shows a menu, and the first request revalidates (304).
const KEY = "kiosk.key";
const ME = "kiosk.me";
const MENU = "kiosk.menu.";

function read(name) {
  try {
    return JSON.parse(localStorage.getItem(name) || "null");
  } catch {
    return null;
  }
}

function write(name, value) {
  try {
    localStorage.setItem(name, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the kiosk still works, it just cannot start offline.
  }
}

export const KeyStore = {
  get: () => localStorage.getItem(KEY),
  set: (key) => localStorage.setItem(KEY, key),
  clear: () => localStorage.removeItem(KEY),
  // `make run` prints /kiosk/#key=...: read it once, keep it, and take it out of the address bar and history.
  takeFromFragment() {
    const params = new URLSearchParams(location.hash.slice(1));
    const key = params.get("key");
    if (!key) return;
    localStorage.setItem(KEY, key);
    MenuStore.clear();
    history.replaceState(null, "", location.pathname + location.search);
  },
};

export const MenuStore = {
  saveMe: (me) => write(ME, me),
  loadMe: () => read(ME),
  saveMenu: (mode, etag, catalog) => write(MENU + mode, { etag, catalog }),
  loadMenu(mode) {
    const held = read(MENU + mode);
    return held && held.catalog ? { etag: held.etag, catalog: held.catalog } : null;
  },
  clear() {
    for (const name of Object.keys(localStorage)) if (name === ME || name.startsWith(MENU)) localStorage.removeItem(name);
  },
};
