// The idle-session warning. The page's <body> says how long the session lasts without use
// (data-idle-ms) and how early to warn (data-warn-ms). Shortly before the end a banner offers
// to stay signed in (which tells the node and reloads the page); at the end the page goes to
// the signed-out page. Without this script a <meta refresh> ends the page all the same.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-ms"), 10);
  var warn = parseInt(body.getAttribute("data-warn-ms"), 10);
  var banner = document.getElementById("session-warning");
  if (!idle || !banner) {
    return;
  }
  var form = banner.querySelector("form");
  window.setTimeout(function () {
    banner.hidden = false;
    var button = document.getElementById("stay-signed-in");
    if (button) {
      button.focus();
    }
  }, Math.max(idle - warn, 0));
  window.setTimeout(function () {
    window.location.assign("/signed-out?why=idle");
  }, idle);
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        body: new URLSearchParams(new FormData(form))
      }).then(function () {
        window.location.reload();
      });
    });
  }
})();
