// Injected by the browser tests only (the reports carry no script): measures the rendered page and
// writes the figures into the DOM as <pre id="measured">JSON</pre> for --dump-dom.
(function () {
  function box(r) { return {l: r.left, t: r.top, r: r.right, b: r.bottom}; }
  function overlap(a, b) { return a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b; }
  var out = {charts: [], cells: []};
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var lg = svg.querySelector('g.legend');
    var plot = svg.querySelector('rect.plot');
    if (!lg || !plot) { out.charts.push({id: svg.id, missing: true}); return; }
    var L = box(lg.getBoundingClientRect());
    var P = box(plot.getBoundingClientRect());
    var S = box(svg.getBoundingClientRect());
    var points = 0, covered = 0;
    svg.querySelectorAll('g.series circle').forEach(function (c) {
      points++;
      if (overlap(L, box(c.getBoundingClientRect()))) { covered++; }
    });
    svg.querySelectorAll('g.series polyline').forEach(function (pl) {
      var m = pl.getScreenCTM();
      for (var i = 0; i < pl.points.numberOfItems; i++) {
        var p = pl.points.getItem(i).matrixTransform(m);
        points++;
        if (p.x >= L.l && p.x <= L.r && p.y >= L.t && p.y <= L.b) { covered++; }
      }
    });
    out.charts.push({id: svg.id, points: points, covered: covered, legendOverPlot: overlap(L, P),
      legendInsideChart: L.l >= S.l - 0.5 && L.r <= S.r + 0.5 && L.t >= S.t - 0.5 && L.b <= S.b + 0.5});
  });
  document.querySelectorAll('td').forEach(function (td) {
    var t = td.textContent.trim();
    if (!/^[-+]?(\d[\d.,]*(e[-+]?\d+)?%?|\u221e)$/.test(t)) { return; }
    var range = document.createRange();
    range.selectNodeContents(td);
    var tops = {};
    Array.prototype.forEach.call(range.getClientRects(), function (r) { if (r.height > 0) { tops[Math.round(r.top)] = 1; } });
    out.cells.push({table: td.closest('table') ? td.closest('table').id : '', text: t, lines: Object.keys(tops).length});
  });
  var pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
