// status.js: the live status of documents being analysed. Every element with data-document and
// data-status "queued" or "processing" is watched by one loop that asks
// GET /api/v1/documents/{id} (authenticated by the session cookie) for each of them every 2 s.
// A changed status is written into the element's status cell as text; an element marked
// data-reload (the document page) reloads the page once its document is analysed or failed, so
// the server renders the result. The loop ends when nothing is left to watch, when the session or
// the document is gone (401, 403, 404), or after an hour; it skips its turn in a hidden tab.
(function () {
  "use strict";
  var PERIOD_MS = 2000, MAX_TURNS = 1800;
  var watched = [], turns = 0, i;
  var nodes = document.querySelectorAll("[data-document][data-status]");

  for (i = 0; i < nodes.length; i++) {
    var st = nodes[i].getAttribute("data-status");
    if (st === "queued" || st === "processing") watched.push(nodes[i]);
  }
  if (!watched.length || !window.fetch || !window.Promise) return;

  function statusCell(el) {
    return el.classList.contains("status") ? el : el.querySelector(".status");
  }

  function show(el, doc) {
    var cell = statusCell(el);
    el.setAttribute("data-status", doc.status);
    if (!cell) return;
    cell.textContent = doc.status + (typeof doc.error === "string" && doc.error ? " — " + doc.error : "");
    if (/^[a-z]+$/.test(doc.status)) cell.className = "status status-" + doc.status;
  }

  // Resolves to "keep" (ask again), "done", "reload" or "stop".
  function ask(el) {
    var url = "/api/v1/documents/" + encodeURIComponent(el.getAttribute("data-document"));
    // The ETag of the last answer: an unchanged document is a 304, which the server does not
    // record as an access (an audit row every 2 s per open page otherwise).
    var headers = { "Accept": "application/json" }, etag = el.getAttribute("data-etag");
    if (etag) headers["If-None-Match"] = etag;
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: headers })
      .then(function (r) {
        if (r.status === 401 || r.status === 403 || r.status === 404) return "stop";
        if (r.status === 304 || !r.ok) return "keep";
        if (r.headers.get("ETag")) el.setAttribute("data-etag", r.headers.get("ETag"));
        return r.json().then(function (doc) {
          if (!doc || typeof doc.status !== "string") return "keep";
          if (doc.status !== el.getAttribute("data-status")) show(el, doc);
          if (doc.status !== "analyzed" && doc.status !== "failed") return "keep";
          return el.hasAttribute("data-reload") ? "reload" : "done";
        });
      })
      .catch(function () { return "keep"; });
  }

  function turn() {
    if (document.hidden) { window.setTimeout(turn, PERIOD_MS); return; }
    turns++;
    Promise.all(watched.map(ask)).then(function (outcomes) {
      var left = [], j;
      for (j = 0; j < outcomes.length; j++) {
        if (outcomes[j] === "reload") { window.location.reload(); return; }
        if (outcomes[j] === "keep") left.push(watched[j]);
      }
      watched = left;
      if (watched.length && turns < MAX_TURNS) window.setTimeout(turn, PERIOD_MS);
    });
  }

  window.setTimeout(turn, PERIOD_MS);
})();
