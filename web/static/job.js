// Follows a clearing job on its page: polls the page's JSON every second and writes the figures in place
// (the server formats them: `shown`); once the job has ended, reloads the page for its outcome and buttons.
(function () {
  var holder = document.getElementById("job");
  if (!holder || holder.getAttribute("data-active") !== "true") { return; }
  var url = holder.getAttribute("data-poll");
  var polls = 0;
  function show(body) {
    var shown = body.shown || {};
    Object.keys(shown).forEach(function (name) {
      document.querySelectorAll('[data-field="' + name + '"]').forEach(function (node) {
        node.textContent = shown[name];
      });
    });
    document.querySelectorAll('[data-field="state"]').forEach(function (node) {
      node.className = "status " + body.state;
    });
    holder.setAttribute("data-state", body.state);
    holder.setAttribute("data-polls", String(++polls));
  }
  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body === null) { setTimeout(poll, 5000); return; }   // a hiccup: try again, more slowly
        show(body);
        if (body.active) { setTimeout(poll, 1000); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
