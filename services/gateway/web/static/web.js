// Newsflow web page: small progressive enhancement, no framework, no inline code (the CSP
// allows script from this origin only). Everything works without it: the pages read, the
// forms post, in-flight pages refresh themselves through <noscript><meta refresh>.
"use strict";

(function () {
  var FINAL = { stored: true, failed: true };
  var POLL_MS = 2000;

  // Elements with data-poll="<same-origin status URL>": show the status as it changes;
  // with data-reload-when-final, reload the page once the article is stored or failed.
  function follow(element) {
    var url = element.getAttribute("data-poll");
    if (!url || url.charAt(0) !== "/" || url.charAt(1) === "/") return;
    var reload = element.getAttribute("data-reload-when-final") === "true";
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (body) {
          if (!body || !body.status) { window.setTimeout(tick, POLL_MS * 2); return; }
          var shown = element.querySelectorAll("[data-status]");
          for (var i = 0; i < shown.length; i++) {
            shown[i].textContent = body.status;
            shown[i].className = shown[i].className.replace(/\bstatus-\S+/, "status-" + body.status);
          }
          if (FINAL[body.status]) {
            element.removeAttribute("data-poll");
            if (reload) window.location.reload();
          } else {
            window.setTimeout(tick, POLL_MS);
          }
        })
        .catch(function () { window.setTimeout(tick, POLL_MS * 2); });
    }
    window.setTimeout(tick, POLL_MS);
  }

  // Entity groups: choosing one highlights all its mentions (and scrolls to the first, as
  // the plain link does without script).
  function groups() {
    var links = document.querySelectorAll("a.group[data-mentions]");
    function clear() {
      var active = document.querySelectorAll("mark.ent.active");
      for (var i = 0; i < active.length; i++) active[i].classList.remove("active");
      for (var j = 0; j < links.length; j++) links[j].removeAttribute("aria-current");
    }
    for (var i = 0; i < links.length; i++) {
      links[i].addEventListener("click", function () {
        clear();
        this.setAttribute("aria-current", "true");
        var ids = (this.getAttribute("data-mentions") || "").split(" ");
        for (var k = 0; k < ids.length; k++) {
          var mark = ids[k] && document.getElementById(ids[k]);
          if (mark) mark.classList.add("active");
        }
      });
    }
  }

  function start() {
    // A page refreshed by <noscript><meta>: script runs, so the poll takes over instead.
    var polled = document.querySelectorAll("[data-poll]");
    for (var i = 0; i < polled.length; i++) follow(polled[i]);
    groups();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
