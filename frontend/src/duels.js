// The duel results page (duels app): Chart.js charts from the results JSON the page embeds with
// json_script: the share of people siding with the attacker per ordered duel, and the
// Bradley–Terry strengths, each with its 95% bootstrap interval as a floating bar. Bundled by
// esbuild into dist/perceptlab/duels.js; only the Chart.js parts used here are registered.

import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Title, Tooltip } from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, Title, Tooltip);

const COLORS = { bar: "rgba(54, 120, 200, 0.35)", ci: "rgba(25, 60, 110, 0.9)", chance: "rgba(200, 90, 30, 0.9)" };
const BASE = { responsive: true, maintainAspectRatio: false, animation: false };

function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

export function duelBars(results) {
  return results.duels
    .filter((d) => d.votes > 0)
    .map((d) => ({ label: `${d.attacker} → ${d.defender}`, share: d.share_with_attacker, ci: d.ci }));
}

function duelChart(canvas, results) {
  const bars = duelBars(results);
  canvas.dataset.points = JSON.stringify(bars.map((b) => [b.label, b.share])); // for tests and readers
  return new Chart(canvas, {
    type: "bar",
    data: {
      labels: bars.map((b) => b.label),
      datasets: [
        { label: "95% interval", data: bars.map((b) => b.ci), backgroundColor: COLORS.ci, barPercentage: 0.15,
          grouped: false, order: 0 },
        { label: "share siding with the attacker", data: bars.map((b) => b.share), backgroundColor: COLORS.bar,
          grouped: false, order: 1 },
      ],
    },
    options: {
      ...BASE,
      plugins: { title: { display: true, text: "People siding with the attacker (0.5 = chance)" },
        legend: { position: "bottom" } },
      scales: { y: { min: 0, max: 1 } },
    },
  });
}

function rankingChart(canvas, results) {
  const rows = results.ranking;
  return new Chart(canvas, {
    type: "bar",
    data: {
      labels: rows.map((r) => r.metric),
      datasets: [
        { label: "95% interval", data: rows.map((r) => r.ci), backgroundColor: COLORS.ci, barPercentage: 0.15,
          grouped: false, order: 0 },
        { label: "Bradley–Terry strength (log)", data: rows.map((r) => r.strength), backgroundColor: COLORS.bar,
          grouped: false, order: 1 },
      ],
    },
    options: { ...BASE, plugins: { title: { display: true, text: "Ranking over all duels" }, legend: { position: "bottom" } } },
  });
}

function drawCharts() {
  const results = readJson("pl-duel-results");
  if (!results) return;
  const duels = document.getElementById("duel-chart");
  if (duels) { duelChart(duels, results); duels.dataset.rendered = "true"; }
  const ranking = document.getElementById("ranking-chart");
  if (ranking && results.ranking.length) { rankingChart(ranking, results); ranking.dataset.rendered = "true"; }
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawCharts);
  else drawCharts();
}
