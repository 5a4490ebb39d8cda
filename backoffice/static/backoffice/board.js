// The live board refreshes its columns every few seconds from a small HTML endpoint (no full reload).
// If a refresh fails, the board says so in red instead of silently showing old orders.
(function () {
  var root = document.getElementById("bo-board");
  if (!root) { return; }
  var url = root.dataset.liveUrl;
  var every = Math.max(2, parseInt(root.dataset.refreshSeconds, 10) || 5) * 1000;
  var status = document.getElementById("bo-live-status");
  var lastOk = Date.now();

  function stamp(text, stale) {
    status.textContent = text;
    status.classList.toggle("bo-stale", !!stale);
  }

  function refresh() {
    fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}, cache: "no-store"})
      .then(function (response) {
        if (response.redirected || !response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        root.innerHTML = html;
        lastOk = Date.now();
        stamp("Live, updated " + new Date().toLocaleTimeString(), false);
      })
      .catch(function () {
        var seconds = Math.round((Date.now() - lastOk) / 1000);
        stamp("Not updating (last update " + seconds + " s ago); retrying", true);
      })
      .finally(function () { window.setTimeout(refresh, every); });
  }
  window.setTimeout(refresh, every);
})();
