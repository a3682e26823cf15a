// The analysis pages' data shaping (no DOM): training-curve series and the monitor's ETA line.
import assert from "node:assert/strict";
import { test } from "node:test";

import { etaSeries, fitSeries } from "../src/analysis.js";

test("fitSeries orders epochs and gives 2AFC ×100, with gaps where a value is missing", () => {
  const s = fitSeries([
    { epoch: 2, loss: 0.6, train_2afc: 0.7, val_2afc: 0.712 },
    { epoch: 0, val_2afc: 0.61 },
    { epoch: 1, loss: 0.69, train_2afc: 0.6, val_2afc: 0.65 },
  ]);
  assert.deepEqual(s.epochs, [0, 1, 2]);
  assert.deepEqual(s.loss, [null, 0.69, 0.6]);
  assert.deepEqual(s.train, [null, 60, 70]);
  assert.deepEqual(s.val, [61, 65, 71.2]);
});

test("etaSeries projects from the last point to the needed count", () => {
  const data = { timeline: [{ hours: 0, valid: 0 }, { hours: 2, valid: 30 }], eta_hours: 3, needed: 60 };
  assert.deepEqual(etaSeries(data).eta, [{ x: 2, y: 30 }, { x: 5, y: 60 }]);
  assert.deepEqual(etaSeries({ ...data, eta_hours: null }).eta, []);
});
