// The agency page's live link and tunnel state: poll gin's own /live URL with back-off.
// 5 s after a change, then 1.5x slower while nothing changes (at most 60 s), 2x slower
// after a failure (at most 120 s); nothing while the tab is hidden.  Never more than one
// request at a time, so one open browser stays far below one request per second.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box) { return; }
  var url = box.getAttribute("data-url");
  var words = {up: box.getAttribute("data-up"), down: box.getAttribute("data-down"),
               unknown: box.getAttribute("data-unknown")};
  var FAST = 5000, SLOW = 60000, BROKEN = 120000;
  var wait = FAST, timer = null, last = "", busy = false;

  function paint(kind, states) {
    var cells = document.querySelectorAll("[data-" + kind + "]");
    for (var i = 0; i < cells.length; i++) {
      var state = states[cells[i].getAttribute("data-" + kind)] || "unknown";
      cells[i].className = "live " + state;
      cells[i].textContent = words[state];
    }
  }

  function schedule() {
    if (timer) { clearTimeout(timer); }
    timer = document.hidden ? null : setTimeout(poll, wait);
  }

  function poll() {
    timer = null;
    busy = true;
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        var seen = JSON.stringify(data);
        wait = seen === last ? Math.min(wait * 1.5, SLOW) : FAST;
        last = seen;
        paint("link", data.links);
        paint("tunnel", data.tunnels);
        box.setAttribute("data-polls", String(Number(box.getAttribute("data-polls")) + 1));
      })
      .catch(function () { wait = Math.min(wait * 2, BROKEN); })
      .then(function () { busy = false; schedule(); });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !timer && !busy) { wait = FAST; poll(); }
  });
  schedule();
})();
