// Draws the analytics page's charts with the vendored Chart.js from the page's JSON block. Every word the
// charts show (titles, series, period names, tooltips) comes translated in that JSON: none is written here.
(function () {
  "use strict";
  var block = document.getElementById("analytics-data");
  if (!block || typeof Chart === "undefined") { return; }
  var data = JSON.parse(block.textContent);
  var language = document.documentElement.lang || "en";
  // Colours that stay apart for the common kinds of colour blindness (Okabe and Ito).
  var colours = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"];

  (data.charts || []).forEach(function (spec) {
    var canvas = document.getElementById("chart-" + spec.id);
    if (!canvas) { return; }
    var datasets = spec.series.map(function (series, i) {
      var type = series.type || spec.type;
      return {
        type: type, label: series.label, data: series.data,
        backgroundColor: colours[i % colours.length], borderColor: colours[i % colours.length],
        borderWidth: type === "line" ? 2 : 0, spanGaps: false, order: type === "line" ? 0 : 1,
      };
    });
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        locale: language, responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: !!spec.stacked },
          y: { stacked: !!spec.stacked, beginAtZero: true, title: { display: true, text: spec.axis } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              // Durations read as the tables write them ("3 h 20 min"), not as decimal hours.
              label: function (item) {
                var text = spec.series[item.datasetIndex].text;
                return item.dataset.label + ": " + (text ? text[item.dataIndex] : item.formattedValue);
              },
            },
          },
        },
      },
    });
  });
})();
