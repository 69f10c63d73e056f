// clarimon console: hover a chart to read a point's value and time; click it to open its execution.
// Each chart carries its points in data-chart: [{name, points: [[x, value, time, id], ...]}], x in the chart's
// coordinates, time in epoch seconds, id the execution's (its page: the chart's data-href + id).
(function () {
  "use strict";
  var tip = null;

  function nearest(points, x) {
    var lo = 0, hi = points.length - 1;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (points[mid][0] < x) { lo = mid + 1; } else { hi = mid; }
    }
    if (lo > 0 && Math.abs(points[lo - 1][0] - x) <= Math.abs(points[lo][0] - x)) { lo -= 1; }
    return lo;
  }

  function localX(svg, event) {
    var box = svg.getBoundingClientRect();
    var width = svg.viewBox.baseVal.width || box.width;
    return (event.clientX - box.left) * width / box.width;
  }

  function closest(svg, series, event) {
    var x = localX(svg, event), best = null;
    series.forEach(function (s) {
      if (!s.points.length) { return; }
      var i = nearest(s.points, x), p = s.points[i];
      if (best === null || Math.abs(p[0] - x) < Math.abs(best[0] - x)) { best = p; }
    });
    return best;
  }

  function when(seconds) {
    return new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  function describe(series, point) {
    var lines = [when(point[2])];
    series.forEach(function (s) {
      if (!s.points.length) { return; }
      var p = s.points[nearest(s.points, point[0])];
      if (p[0] === point[0]) { lines.push(s.name + ": " + p[1]); }
    });
    return lines.join("\n");
  }

  function guide(svg) {
    var line = svg.querySelector("line.guide");
    if (line === null) {
      line = document.createElementNS("http://www.w3.org/2000/svg", "line");
      line.setAttribute("class", "guide");
      line.setAttribute("y1", "0");
      line.setAttribute("y2", String(svg.viewBox.baseVal.height));
      svg.appendChild(line);
    }
    return line;
  }

  function attach(svg) {
    var series, base = svg.getAttribute("data-href") || "";
    try { series = JSON.parse(svg.getAttribute("data-chart")); } catch (error) { return; }
    if (!Array.isArray(series) || !series.length) { return; }
    svg.addEventListener("mousemove", function (event) {
      var point = closest(svg, series, event);
      if (point === null) { return; }
      var line = guide(svg);
      line.setAttribute("x1", String(point[0]));
      line.setAttribute("x2", String(point[0]));
      tip.textContent = describe(series, point);
      tip.hidden = false;
      tip.style.left = (event.clientX + 14) + "px";
      tip.style.top = (event.clientY + 14) + "px";
      svg.style.cursor = base && point[3] !== null ? "pointer" : "crosshair";
    });
    svg.addEventListener("mouseleave", function () {
      tip.hidden = true;
      var line = svg.querySelector("line.guide");
      if (line !== null) { line.remove(); }
    });
    svg.addEventListener("click", function (event) {
      var point = closest(svg, series, event);
      if (base && point !== null && point[3] !== null) { window.location.assign(base + point[3]); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tip = document.getElementById("tip");
    if (tip === null) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("svg.chart[data-chart]"), attach);
  });
}());
