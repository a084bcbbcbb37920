// The pledge form's live list: when a scope box is ticked or unticked, asks the server what the scope now
// admits (pledges.preview_fragment, HTML it escaped) and shows it in #preview. Without JavaScript the
// form's "Preview" button does the same with a round trip.
(function () {
  var holder = document.getElementById("preview");
  var scope = document.getElementById("scope");
  if (!holder || !scope) { return; }
  var url = holder.getAttribute("data-url");
  var names = ["challenges", "components", "tags", "all_tags", "exclude_tags"];
  var timer = null, asked = 0;
  function query() {
    var params = new URLSearchParams();
    names.forEach(function (name) {
      scope.querySelectorAll('input[name="' + name + '"]:checked').forEach(function (box) {
        params.append(name, box.value);
      });
    });
    return params.toString();
  }
  function refresh() {
    var mine = ++asked;
    fetch(url + "?" + query(), {credentials: "same-origin", cache: "no-store"})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (body) {
        if (body === null || mine !== asked) { return; }        // an error, or a later answer is coming
        holder.innerHTML = body;
        holder.setAttribute("data-live", String(mine));
      })
      .catch(function () { /* the Preview button still works */ });
  }
  scope.addEventListener("change", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  });
})();
