// Draws the Sankey diagram of money from the JSON in #sankey-data, with plotly served by the app.
(function () {
  var holder = document.getElementById("sankey");
  var source = document.getElementById("sankey-data");
  if (!holder || !source || typeof Plotly === "undefined") { return; }
  var graph = JSON.parse(source.textContent);
  var currency = holder.getAttribute("data-currency") || "";
  function money(cents) {
    var whole = Math.floor(cents / 100), frac = String(cents % 100).padStart(2, "0");
    return whole.toLocaleString("en-US") + "." + frac + " " + currency;
  }
  // plotly reads <b>, <i>, <a>, <br> and <span style> in labels as markup and &...; as entities: write
  // every name (chosen by its user) so that it shows exactly as typed.
  function plain(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  var colours = {funder: "#2b6cb0", challenge: "#2f855a", actor: "#b7791f", returned: "#a0aec0"};
  holder.innerHTML = "";
  Plotly.newPlot(holder, [{
    type: "sankey",
    arrangement: "snap",
    node: {label: graph.nodes.map(plain), pad: 14, thickness: 16,
           color: graph.kinds.map(function (k) { return colours[k] || "#718096"; })},
    link: {source: graph.links.map(function (l) { return l.source; }),
           target: graph.links.map(function (l) { return l.target; }),
           value: graph.links.map(function (l) { return l.cents; }),
           customdata: graph.links.map(function (l) { return money(l.cents); }),
           hovertemplate: "%{source.label} → %{target.label}: %{customdata}<extra></extra>"}
  }], {margin: {l: 10, r: 10, t: 10, b: 10}, height: Math.max(420, graph.nodes.length * 22),
       font: {size: 12}}, {displaylogo: false, responsive: true});
  holder.setAttribute("data-rendered", "true");
})();
