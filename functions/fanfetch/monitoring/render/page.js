(function () {
  "use strict";
  // Times as the reader's clock sees them: "3 min ago" beside each absolute UTC time.
  var now = Date.now();
  function ago(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 120) return s + " s ago";
    if (s < 7200) return Math.round(s / 60) + " min ago";
    if (s < 172800) return (s / 3600).toFixed(1) + " h ago";
    return (s / 86400).toFixed(1) + " days ago";
  }
  var times = document.querySelectorAll("time[data-relative]");
  for (var i = 0; i < times.length; i++) {
    var at = Date.parse(times[i].getAttribute("datetime"));
    if (!isNaN(at)) {
      times[i].title = times[i].getAttribute("datetime");
      times[i].textContent = ago(now - at);
    }
  }
  // A page the monitor stopped updating says so.
  var page = document.body;
  var staleAfter = Date.parse(page.getAttribute("data-stale-after") || "");
  if (!isNaN(staleAfter) && now > staleAfter) {
    var banner = document.getElementById("stale");
    banner.textContent = "Stale: the monitor has not run since " + page.getAttribute("data-generated") +
      " (" + ago(now - Date.parse(page.getAttribute("data-generated"))) + "). What follows may no longer be true.";
    banner.hidden = false;
  }
})();
