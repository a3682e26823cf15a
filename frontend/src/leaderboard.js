// The leaderboard page (analysis app): Chart.js charts from the board JSON that the page embeds
// with json_script, and click-to-sort on the server-rendered table. Bundled by esbuild into
// dist/perceptlab/leaderboard.js; only the Chart.js parts used here are registered.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  ScatterController,
  Title,
  Tooltip,
} from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement,
  PointElement, ScatterController, Title, Tooltip);

const COLORS = { bar: "rgba(54, 120, 200, 0.35)", ci: "rgba(25, 60, 110, 0.9)", human: "rgba(200, 90, 30, 0.9)" };
const pct = (x) => (x === null || x === undefined ? null : Math.round(x * 1000) / 10);

function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

// ---------------------------------------------------------------------------------------------
// Sorting: metric rows only; the human row stays on top as the reference.
// ---------------------------------------------------------------------------------------------

function sortKey(row, spec, nColumns) {
  if (spec === "label") return row.dataset.label.toLowerCase();
  const [kind, index] = spec.split(":");
  const cell = row.cells[1 + Number(index) + (kind === "jnd" ? nColumns : 0)];
  const value = cell ? cell.dataset.value : "";
  return value === "" || value === undefined ? null : Number(value);
}

export function sortTable(table, header) {
  const spec = header.dataset.sort;
  const body = table.querySelector("tbody.metrics");
  const nColumns = table.querySelectorAll('thead th[data-sort^="2afc:"]').length;
  const current = header.getAttribute("aria-sort");
  const descending = spec === "label" ? current === "ascending" : current !== "descending";
  const rows = [...body.rows].map((row) => ({ row, key: sortKey(row, spec, nColumns) }));
  rows.sort((a, b) => {
    if (a.key === null || b.key === null) return (a.key === null) - (b.key === null); // missing last
    const order = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
    return descending ? -order : order;
  });
  for (const { row } of rows) body.appendChild(row);
  for (const th of table.querySelectorAll("thead th[data-sort]")) th.removeAttribute("aria-sort");
  header.setAttribute("aria-sort", descending ? "descending" : "ascending");
}

function enableSorting() {
  const table = document.getElementById("board");
  if (!table) return;
  for (const header of table.querySelectorAll("thead th[data-sort]")) {
    header.tabIndex = 0;
    header.addEventListener("click", () => sortTable(table, header));
    header.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        sortTable(table, header);
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Charts
// ---------------------------------------------------------------------------------------------

const BASE = { responsive: true, maintainAspectRatio: false, animation: false };

// Names beside scatter points (Chart.js plugin API: drawn after the points, on the same canvas).
export const pointLabels = {
  id: "plPointLabels",
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#333";
    ctx.textBaseline = "middle";
    chart.data.datasets.forEach((dataset, i) => {
      if (!dataset.pointLabels) return;
      chart.getDatasetMeta(i).data.forEach((point, j) => {
        const label = dataset.data[j]?.label;
        if (!label) return;
        const right = point.x + 7 + ctx.measureText(label).width > chart.chartArea.right;
        ctx.textAlign = right ? "right" : "left";
        ctx.fillText(label, point.x + (right ? -7 : 7), point.y - 7);
      });
    });
    ctx.restore();
  },
};

// One metric per row (horizontal bars): long names stay readable and never overlap. The
// interval is a whisker, a thin floating bar with caps ('line' points at both ends).
function categoryChart(canvas, board) {
  const column = canvas.dataset.column;
  const label = board.columns.find((c) => c.key === column)?.label ?? column;
  const metrics = board.rows
    .filter((r) => r.kind === "metric" && r.cells[column])
    .sort((a, b) => b.cells[column].score - a.cells[column].score);
  const human = board.rows.find((r) => r.kind === "human")?.cells[column];
  const scores = metrics.map((r) => pct(r.cells[column].score));
  const intervals = metrics.map((r) =>
    r.cells[column].ci_low === null || r.cells[column].ci_low === undefined
      ? null : [pct(r.cells[column].ci_low), pct(r.cells[column].ci_high)]);
  const low = Math.min(...scores, ...intervals.filter(Boolean).map((ci) => ci[0]), human ? pct(human.score) : 100);
  const names = metrics.map((r) => r.label);
  const caps = (end) => intervals.map((ci, i) => (ci ? { x: ci[end], y: names[i] } : null)).filter(Boolean);
  const ciLabel = `${Math.round(board.confidence * 100)}% interval`;
  const datasets = [
    { type: "bar", label: "2AFC score", data: scores, backgroundColor: COLORS.bar, grouped: false, order: 2 },
    { type: "bar", label: ciLabel, data: intervals, backgroundColor: COLORS.ci, barThickness: 2, grouped: false,
      order: 1 },
    { type: "scatter", label: `${ciLabel} ends`, data: [...caps(0), ...caps(1)], pointStyle: "line", rotation: 90,
      radius: 6, borderWidth: 2, borderColor: COLORS.ci, order: 0 },
  ];
  if (human) {
    datasets.push({ type: "line", label: "Human", data: names.map((name) => ({ x: pct(human.score), y: name })),
      borderColor: COLORS.human, borderDash: [6, 4], pointRadius: 0, borderWidth: 2, order: -1 });
  }
  canvas.parentElement.style.height = `${Math.max(12, 5 + 1.9 * names.length)}rem`;
  return new Chart(canvas, {
    type: "bar",
    data: { labels: names, datasets },
    options: {
      ...BASE,
      indexAxis: "y",
      plugins: {
        title: { display: true, text: `2AFC score ×100: ${label}` },
        legend: { position: "bottom", labels: { filter: (item) => !item.text.endsWith(" ends") } },
      },
      scales: {
        x: { min: Math.max(0, Math.floor(low / 5) * 5 - 5), max: 100 },
        y: { type: "category", ticks: { autoSkip: false } },
      },
    },
  });
}

function scatterChart(canvas, board) {
  const twoafc = board.columns.some((c) => c.key === "all_distortions") ? "all_distortions" : "all";
  const points = board.rows
    .filter((r) => r.kind === "metric" && r.cells[twoafc] && r.jnd.all)
    .map((r) => ({ x: pct(r.jnd.all.score), y: pct(r.cells[twoafc].score), label: r.label }));
  return new Chart(canvas, {
    type: "scatter",
    data: { datasets: [{ label: "metrics", data: points, backgroundColor: COLORS.ci, pointRadius: 5, pointLabels: true }] },
    plugins: [pointLabels],
    options: {
      ...BASE,
      plugins: {
        legend: { display: false },
        title: { display: true, text: "2AFC vs JND (×100)" },
        tooltip: { callbacks: { label: (ctx) => `${ctx.raw.label}: JND ${ctx.raw.x}, 2AFC ${ctx.raw.y}` } },
      },
      scales: {
        x: { title: { display: true, text: "JND mAP (All)" } },
        y: { title: { display: true, text: `2AFC (${twoafc === "all" ? "All" : "All-distortions"})` } },
      },
    },
  });
}

// The network zoo: 2AFC (with its interval as a whisker) against each network's ImageNet top-1.
export function zooPoints(board) {
  const twoafc = board.columns.some((c) => c.key === "all_distortions") ? "all_distortions" : "all";
  return board.rows
    .filter((r) => r.kind === "metric" && r.zoo && r.zoo.imagenet_top1 !== null && r.cells[twoafc])
    .map((r) => ({ x: r.zoo.imagenet_top1, y: pct(r.cells[twoafc].score), label: r.label,
      low: pct(r.cells[twoafc].ci_low), high: pct(r.cells[twoafc].ci_high) }));
}

function zooChart(canvas, board) {
  const points = zooPoints(board);
  canvas.dataset.points = JSON.stringify(points.map((p) => [p.label, p.x, p.y])); // for tests and readers
  const whiskers = points.filter((p) => p.low !== null).map((p) => ({
    type: "line", data: [{ x: p.x, y: p.low }, { x: p.x, y: p.high }], borderColor: COLORS.ci, borderWidth: 2,
    pointRadius: 0, showLine: true, label: `${p.label} interval` }));
  return new Chart(canvas, {
    type: "scatter",
    data: { datasets: [{ label: "networks", data: points, backgroundColor: COLORS.human, pointRadius: 5,
      pointLabels: true }, ...whiskers] },
    plugins: [pointLabels],
    options: {
      ...BASE,
      plugins: {
        legend: { display: false },
        title: { display: true, text: "2AFC (×100) vs ImageNet top-1 (%)" },
        tooltip: { callbacks: { label: (ctx) => (ctx.raw.label ? `${ctx.raw.label}: top-1 ${ctx.raw.x}, 2AFC ${ctx.raw.y}` : "") } },
      },
      scales: {
        x: { type: "linear", title: { display: true, text: "ImageNet-1K top-1 (%)" } },
        y: { title: { display: true, text: "2AFC score ×100" } },
      },
    },
  });
}

function judgmentsChart(canvas, judgments) {
  return new Chart(canvas, {
    type: "line",
    data: {
      labels: judgments.rows.map((r) => r.k),
      datasets: [{ label: "CI width ×100", data: judgments.rows.map((r) => pct(r.ci_width)), borderColor: COLORS.ci,
        backgroundColor: COLORS.ci }],
    },
    options: {
      ...BASE,
      plugins: { title: { display: true, text: "Interval width vs judgments per triplet" } },
      scales: { x: { title: { display: true, text: "k judgments per triplet" } }, y: { min: 0 } },
    },
  });
}

function drawCharts() {
  const board = readJson("pl-board");
  if (!board) return;
  const made = [];
  for (const canvas of document.querySelectorAll("#charts canvas[data-column]")) {
    made.push([canvas, categoryChart(canvas, board)]);
  }
  const zoo = document.getElementById("zoo-chart");
  if (zoo) made.push([zoo, zooChart(zoo, board)]);
  const scatter = document.getElementById("scatter");
  if (scatter) made.push([scatter, scatterChart(scatter, board)]);
  const judgments = readJson("pl-judgments");
  const line = document.getElementById("judgments-chart");
  if (judgments && line) made.push([line, judgmentsChart(line, judgments)]);
  for (const [canvas] of made) canvas.dataset.rendered = "true";
}

function start() {
  enableSorting();
  drawCharts();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
