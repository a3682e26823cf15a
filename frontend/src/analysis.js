// Researcher pages of the admin beyond the leaderboard: a fit run's training curves and a
// study's collection monitor (which polls its JSON endpoint and redraws itself). Chart.js, as
// on the leaderboard; bundled by esbuild into dist/perceptlab/analysis.js.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Title,
  Tooltip,
} from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement,
  PointElement, Title, Tooltip);

const BASE = { responsive: true, maintainAspectRatio: false, animation: false };
const COLORS = { loss: "rgb(200, 90, 30)", train: "rgb(54, 120, 200)", val: "rgb(25, 140, 80)",
  done: "rgb(54, 120, 200)", eta: "rgb(120, 120, 120)" };
const pct = (x) => (x === null || x === undefined ? null : Math.round(x * 1000) / 10);

function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

// ---------------------------------------------------------------------------------------------
// Fit run: loss and train/val 2AFC per epoch
// ---------------------------------------------------------------------------------------------

export function fitSeries(history) {
  const rows = [...history].sort((a, b) => a.epoch - b.epoch);
  return {
    epochs: rows.map((r) => r.epoch),
    loss: rows.map((r) => (r.loss === undefined ? null : r.loss)),
    train: rows.map((r) => pct(r.train_2afc)),
    val: rows.map((r) => pct(r.val_2afc)),
  };
}

function fitChart(canvas, history) {
  const s = fitSeries(history);
  return new Chart(canvas, {
    type: "line",
    data: {
      labels: s.epochs,
      datasets: [
        { label: "loss", data: s.loss, borderColor: COLORS.loss, backgroundColor: COLORS.loss, yAxisID: "loss",
          spanGaps: true },
        { label: "train 2AFC ×100", data: s.train, borderColor: COLORS.train, backgroundColor: COLORS.train,
          yAxisID: "score", spanGaps: true },
        { label: "val 2AFC ×100", data: s.val, borderColor: COLORS.val, backgroundColor: COLORS.val,
          yAxisID: "score", spanGaps: true },
      ],
    },
    options: {
      ...BASE,
      interaction: { mode: "index", intersect: false },
      plugins: { title: { display: true, text: "Training curves (epoch 0: before training)" },
        legend: { position: "bottom" } },
      scales: {
        x: { title: { display: true, text: "epoch" } },
        loss: { position: "left", title: { display: true, text: "loss" } },
        score: { position: "right", title: { display: true, text: "2AFC ×100" }, grid: { drawOnChartArea: false } },
      },
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Collection monitor: judgments over time with the projected finish, QC outcomes, refreshing
// ---------------------------------------------------------------------------------------------

export function etaSeries(data) {
  const points = data.timeline.map((p) => ({ x: p.hours, y: p.valid }));
  const eta = [];
  if (data.eta_hours !== null && data.eta_hours !== undefined && points.length) {
    const last = points[points.length - 1];
    eta.push({ x: last.x, y: last.y }, { x: last.x + data.eta_hours, y: data.needed });
  }
  return { points, eta };
}

function timelineChart(canvas) {
  return new Chart(canvas, {
    type: "line",
    data: { datasets: [
      { label: "valid judgments", data: [], borderColor: COLORS.done, backgroundColor: "rgba(54, 120, 200, .15)",
        fill: true, pointRadius: 0 },
      { label: "projected at the last hour's pace", data: [], borderColor: COLORS.eta, borderDash: [6, 4],
        pointRadius: 0 },
      { label: "needed", data: [], borderColor: "rgb(200, 90, 30)", borderWidth: 1, pointRadius: 0 },
    ] },
    options: {
      ...BASE,
      parsing: false,
      plugins: { title: { display: true, text: "Valid judgments over time" }, legend: { position: "bottom" } },
      scales: { x: { type: "linear", title: { display: true, text: "hours since the first judgment" } },
        y: { min: 0, title: { display: true, text: "judgments" } } },
    },
  });
}

function qcChart(canvas) {
  return new Chart(canvas, {
    type: "bar",
    data: { labels: [], datasets: [{ label: "participants", data: [], backgroundColor: "rgba(54, 120, 200, .5)" }] },
    options: { ...BASE, indexAxis: "y", plugins: { title: { display: true, text: "QC outcomes (participants)" },
      legend: { display: false } }, scales: { x: { min: 0, ticks: { precision: 0 } } } },
  });
}

function setText(root, name, value) {
  for (const node of root.querySelectorAll(`[data-field="${name}"]`)) node.textContent = value;
}

export function renderMonitor(root, data, charts) {
  const { points, eta } = etaSeries(data);
  const [done, projected, needed] = charts.timeline.data.datasets;
  done.data = points;
  projected.data = eta;
  const end = Math.max(points.length ? points[points.length - 1].x : 0, eta.length ? eta[1].x : 0, 1);
  needed.data = [{ x: 0, y: data.needed }, { x: end, y: data.needed }];
  charts.timeline.update();
  charts.qc.data.labels = data.qc.map((q) => q.label);
  charts.qc.data.datasets[0].data = data.qc.map((q) => q.count);
  charts.qc.update();
  setText(root, "valid", `${data.valid} / ${data.needed} (${data.percent}%)`);
  setText(root, "active", String(data.active_participants));
  setText(root, "last-hour", String(data.judgments_last_hour));
  let etaText = data.eta_hours === null ? "no judgments in the last hour" : `${data.eta_hours.toFixed(1)} h`;
  if (data.needed && data.valid >= data.needed) etaText = "complete";
  setText(root, "eta", etaText);
  setText(root, "qc-pass", data.qc_pass_rate === null ? "–" : `${Math.round(data.qc_pass_rate * 100)}%`);
  setText(root, "updated", new Date(data.at).toLocaleTimeString());
  root.dataset.rendered = "true";
}

function startMonitor(root) {
  const charts = { timeline: timelineChart(root.querySelector("#monitor-timeline")),
    qc: qcChart(root.querySelector("#monitor-qc")) };
  const url = root.dataset.url;
  const every = () => Number(root.dataset.every || 15) * 1000; // read each time: adjustable
  const status = root.querySelector("[data-field='status']");
  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(`${response.status}`);
      renderMonitor(root, await response.json(), charts);
      if (status) status.textContent = "";
    } catch (error) {
      if (status) status.textContent = `Could not refresh (${error.message}); trying again.`;
    }
    setTimeout(poll, every());
  }
  renderMonitor(root, readJson("pl-monitor"), charts);
  setTimeout(poll, every());
}

function start() {
  const history = readJson("pl-fit-history");
  const fit = document.getElementById("fit-curves");
  if (fit && history && history.length) {
    fitChart(fit, history);
    fit.dataset.rendered = "true";
  }
  const monitor = document.getElementById("monitor");
  if (monitor) startMonitor(monitor);
}

if (typeof document !== "undefined") { // not when imported by the unit tests (node)
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
