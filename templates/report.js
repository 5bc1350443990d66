// Draw every embedded Vega-Lite spec, then make the overview brush drive the `win` parameter of the other views.
(function () {
  "use strict";
  var page = JSON.parse(document.getElementById("snntrace-page").textContent);
  var views = {};
  window.snntraceViews = views;
  // logLevel 1 (vega.Error): warnings such as "infinite extent" only mean the brushed window holds no data for a chart.
  var options = { renderer: "canvas", actions: false, mode: "vega-lite", tooltip: true, logLevel: 1 };
  var elements = Array.prototype.slice.call(document.querySelectorAll("script[data-chart]"));

  function windowOf(value) {
    var extent = value && value[page.timeField];
    if (Array.isArray(extent) && extent.length === 2) {
      return [Math.min(extent[0], extent[1]), Math.max(extent[0], extent[1])];
    }
    return page.fullWindow;
  }

  Promise.all(elements.map(function (element) {
    var key = element.getAttribute("data-chart");
    var spec = JSON.parse(element.textContent);
    return vegaEmbed(document.getElementById(key), spec, options).then(function (result) {
      views[key] = result.view;
    });
  })).then(function () {
    var master = views[page.master];
    var followers = elements.filter(function (element) {
      return element.getAttribute("data-follows") === "true";
    }).map(function (element) { return views[element.getAttribute("data-chart")]; });
    function follow(value) {
      var win = windowOf(value);
      return Promise.all(followers.map(function (view) { return view.signal(page.windowParam, win).runAsync(); }));
    }
    if (master) {
      // Re-filter the followers at most once per animation frame: a drag fires many brush updates.
      var pending = null;
      master.addSignalListener(page.brushParam, function (name, value) {
        var scheduled = pending !== null;
        pending = value;
        if (!scheduled) {
          window.requestAnimationFrame(function () { var latest = pending; pending = null; follow(latest); });
        }
      });
      return follow(master.signal(page.brushParam));
    }
  }).then(function () {
    document.body.setAttribute("data-ready", "true");
  }).catch(function (error) {
    document.body.setAttribute("data-ready", "error");
    console.error(error);
  });
})();
