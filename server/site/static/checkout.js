// The checkout page asks the site every few seconds whether the card has approved the payment;
// once it has, the site has placed the order and the page goes to it.
(function () {
  "use strict";
  var status = document.getElementById("poll-status");
  if (!status || !window.fetch) { return; }
  var interval = Math.max(1, parseInt(status.getAttribute("data-interval"), 10) || 2) * 1000;
  function ask() {
    fetch("/checkout/status", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.json(); })
      .then(function (body) {
        if (body.status === "pending") { setTimeout(ask, interval); return; }
        if (body.status === "signed") { status.textContent = "お支払いが済みました。ご注文の画面へ移動します…"; }
        window.location.assign(body.next || "/cart");
      })
      .catch(function () { setTimeout(ask, interval * 2); });
  }
  setTimeout(ask, interval);
})();
