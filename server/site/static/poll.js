// The sign-in page asks the site every few seconds whether the card has signed; then goes on.
(function () {
  "use strict";
  var status = document.getElementById("poll-status");
  if (!status || !window.fetch) { return; }
  var interval = Math.max(1, parseInt(status.getAttribute("data-interval"), 10) || 2) * 1000;
  function ask() {
    fetch("/signin/status", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.json(); })
      .then(function (body) {
        if (body.status === "pending" || body.status === "error") { setTimeout(ask, interval); return; }
        if (body.status === "signed") { status.textContent = "確認できました。移動します…"; }
        window.location.assign(body.next || "/signin");
      })
      .catch(function () { setTimeout(ask, interval * 2); });
  }
  setTimeout(ask, interval);
})();
