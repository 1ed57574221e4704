// The Train panel: POST /api/train starts a run with the panel's settings, GET /api/train (polled
// four times a second) brings the batch losses since the last poll, each epoch's figures and the
// first layer's weights, and this file draws them. Everything goes through the JSON API
// (nn/web/routes/jobs.py), so a script can drive the same training.
"use strict";

const POLL_MS = 250;
const CHART = { batch: "#8c91a0", train: "#5caaff", test: "#fac85a", axis: "#2c303c", text: "#8c91a0" };
const training = { polling: false, losses: [], answer: null, defaults: null };

function readSettings() {
  const numbers = (text) => text.trim().split(/[\s,]+/).map((v) => (/^\d+$/.test(v) ? Number(v) : v));
  const settings = { augment: $("t-augment").checked };
  const fields = { hidden: "t-hidden", conv: "t-conv" };
  for (const [name, id] of Object.entries(fields)) {
    const text = $(id).value;
    if (text.trim() !== "") settings[name] = numbers(text);
  }
  for (const [name, id] of [["lr", "t-lr"], ["batch_size", "t-batch"], ["epochs", "t-epochs"]]) {
    const text = $(id).value.trim();
    if (text !== "") settings[name] = Number.isFinite(Number(text)) ? Number(text) : text;
  }
  settings.activation = $("t-activation").value;
  settings.optimizer = $("t-optimizer").value;
  return settings; // the server checks them, as train.py checks its flags
}

function fillSettings(answer) {
  const d = answer.defaults;
  training.defaults = answer;
  for (const [name, id] of [["activation", "t-activation"], ["optimizer", "t-optimizer"]]) {
    const select = $(id);
    if (!select.options.length) {
      for (const choice of answer.choices[name]) select.add(new Option(choice.replace("_", " "), choice));
      select.value = d[name];
    }
  }
  $("t-hidden").placeholder = d.hidden.join(" ");
  $("t-batch").placeholder = String(d.batch_size);
  $("t-epochs").placeholder = String(d.epochs);
  $("train-about").textContent = `A new network, trained here on ${answer.data} while you watch; then ` +
    "draw with it. The settings are train.py's; an empty field takes its default.";
  showDefaultRate();
}

function showDefaultRate() {
  const answer = training.defaults;
  if (!answer) return;
  const cnn = $("t-conv").value.trim() !== "" && $("t-conv").value.trim() !== "0";
  $("t-lr").placeholder = String(answer.default_lr[cnn ? "cnn" : "mlp"][$("t-optimizer").value]);
  $("t-hidden").placeholder = (cnn ? answer.conv_hidden : answer.defaults.hidden).join(" ");
}

async function startTraining() {
  try {
    await api("/api/train", readSettings());
  } catch (error) {
    trainStatus(error.message, true);
    return;
  }
  training.losses = [];
  pollTraining();
}

async function pollTraining() {
  if (training.polling) return;
  training.polling = true;
  setButtons(true);
  $("train-charts").hidden = false;
  $("train-progress").hidden = false;
  let answer;
  try {
    for (;;) {
      answer = await api(`/api/train?since=${training.losses.length}&weights=1`);
      if (answer.loss_from === training.losses.length) training.losses.push(...answer.loss);
      showTraining(answer);
      if (answer.state !== "running") break;
      await new Promise((wake) => setTimeout(wake, POLL_MS));
    }
  } catch (error) {
    trainStatus(error.message, true);
  } finally {
    training.polling = false;
    $("train-progress").hidden = true;
  }
  if (answer) setButtons(false, answer);
}

function setButtons(running, answer) {
  $("train").disabled = running;
  $("train-stop").disabled = !running;
  $("train-use").disabled = running || !(answer && answer.trained);
  $("train-save").disabled = running || !(answer && answer.trained) || Boolean(answer && answer.saved_to);
  $("train-use").textContent = answer && answer.using_trained ? "Back to the other model" : "Draw with it";
  $("train-use").setAttribute("aria-pressed", String(Boolean(answer && answer.using_trained)));
}

function showTraining(answer) {
  training.answer = answer;
  $("train-progress").value = answer.progress;
  const h = answer.history;
  const last = h.epoch.length - 1;
  const percent = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(2)}%`);
  if (answer.state === "running") {
    const left = answer.seconds_left === null ? "" : ` · about ${Math.ceil(answer.seconds_left)} s left`;
    const rate = last >= 0 ? ` · lr ${h.lr[last].toPrecision(3)}` : "";
    const loss = training.losses.length ? ` · loss ${training.losses[training.losses.length - 1].toFixed(4)}` : "";
    trainStatus(`Training ${answer.shape}: epoch ${Math.max(answer.epoch, 1)}/${answer.epochs} · ` +
      `step ${answer.step}/${answer.steps}${loss}${rate}${left}`);
  } else if (answer.state === "done" || answer.state === "stopped") {
    const why = answer.state === "stopped"
      ? `Stopped${answer.stopped_because ? ` (${answer.stopped_because})` : ""}, keeping epoch ${answer.best_epoch || "–"}'s weights. `
      : "Done. ";
    const test = answer.test_accuracy === null ? "" : `Test accuracy ${percent(answer.test_accuracy)}. `;
    const saved = answer.saved_to ? `Saved as ${answer.saved_to}.` : `Save writes ${answer.out}.`;
    trainStatus(`${why}${test}${answer.shape} in ${answer.seconds.toFixed(1)} s. ${saved}`);
  } else if (answer.state === "failed") {
    trainStatus(`Training failed: ${answer.error}`, true);
  }
  drawLoss(answer);
  drawAccuracy(h);
  if (answer.weights) drawWeights(answer.weights);
  $("confusion-view").hidden = !answer.confusion;
  if (answer.confusion) drawConfusion(answer.confusion);
}

function trainStatus(text, problem) {
  const line = $("train-status");
  line.textContent = text;
  line.classList.toggle("problem", Boolean(problem));
}

// -- the charts ------------------------------------------------------------------------------------

function chart(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 320;
  const height = canvas.clientHeight || 180;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.font = "11px system-ui, sans-serif";
  const box = { left: 40, right: width - 8, top: 8, bottom: height - 20 };
  g.strokeStyle = CHART.axis;
  g.strokeRect(box.left, box.top, box.right - box.left, box.bottom - box.top);
  return { g, box };
}

function axes(g, box, xMax, yMin, yMax, yText) {
  g.fillStyle = CHART.text;
  g.textAlign = "right";
  g.fillText(yText(yMax), box.left - 4, box.top + 8);
  g.fillText(yText(yMin), box.left - 4, box.bottom);
  g.textAlign = "center";
  g.fillText(String(xMax), box.right - 8, box.bottom + 14);
  return {
    x: (v) => box.left + (box.right - box.left) * (xMax ? v / xMax : 0),
    y: (v) => box.bottom - (box.bottom - box.top) * (yMax > yMin ? (v - yMin) / (yMax - yMin) : 0),
  };
}

function dots(g, points, colour, at) {
  g.fillStyle = colour;
  for (const [x, y] of points) {
    if (y === null || y === undefined) continue;
    g.beginPath();
    g.arc(at.x(x), at.y(y), 3, 0, 2 * Math.PI);
    g.fill();
  }
}

function drawLoss(answer) {
  const { g, box } = chart($("train-loss"));
  const losses = training.losses;
  if (!losses.length) return;
  const perEpoch = answer.steps / answer.epochs;
  const sorted = [...losses].sort((a, b) => a - b);
  const top = Math.max(sorted[Math.floor(0.99 * (sorted.length - 1))], ...answer.history.test_loss.filter((v) => v !== null));
  const at = axes(g, box, answer.steps, 0, top, (v) => v.toFixed(2));
  g.strokeStyle = CHART.batch;
  g.lineWidth = 1;
  g.beginPath();
  losses.forEach((v, i) => (i ? g.lineTo(at.x(i + 1), at.y(Math.min(v, top))) : g.moveTo(at.x(1), at.y(Math.min(v, top)))));
  g.stroke();
  const h = answer.history;
  dots(g, h.epoch.map((e, i) => [e * perEpoch, h.train_loss[i]]), CHART.train, at);
  dots(g, h.epoch.map((e, i) => [e * perEpoch, h.test_loss[i]]), CHART.test, at);
  g.fillStyle = CHART.text;
  g.textAlign = "left";
  g.fillText("step", box.left + 4, box.bottom + 14);
}

function drawAccuracy(h) {
  const { g, box } = chart($("train-accuracy"));
  const values = [...h.train_accuracy, ...h.test_accuracy].filter((v) => v !== null);
  if (!values.length) return;
  const low = Math.max(0, Math.floor((Math.min(...values) - 0.005) * 100) / 100);
  const epochs = training.answer ? training.answer.epochs : h.epoch.length;
  const at = axes(g, box, epochs, low, 1, (v) => `${Math.round(v * 100)}%`);
  for (const [name, colour] of [["train_accuracy", CHART.train], ["test_accuracy", CHART.test]]) {
    g.strokeStyle = colour;
    g.beginPath();
    h.epoch.forEach((e, i) => (i ? g.lineTo(at.x(e), at.y(h[name][i])) : g.moveTo(at.x(e), at.y(h[name][i]))));
    if (h[name].every((v) => v !== null)) g.stroke();
    dots(g, h.epoch.map((e, i) => [e, h[name][i]]), colour, at);
  }
  g.fillStyle = CHART.text;
  g.textAlign = "left";
  g.fillText("epoch", box.left + 4, box.bottom + 14);
}

function drawWeights(w) {
  // temp/weights.png's drawing: each unit a square, one colour scale, blue - white - red
  const levels = Uint8Array.from(atob(w.levels), (c) => c.charCodeAt(0));
  const columns = Math.ceil(Math.sqrt(w.units));
  const rows = Math.ceil(w.units / columns);
  const cell = w.side + 1;
  const width = columns * cell - 1;
  const height = rows * cell - 1;
  paint($("train-weights"), width, height, (i) => {
    const x = i % width, y = Math.floor(i / width);
    const unit = Math.floor(y / cell) * columns + Math.floor(x / cell);
    if (x % cell === w.side || y % cell === w.side || unit >= w.units) return COLOURS.canvas;
    const t = (levels[unit * w.side * w.side + (y % cell) * w.side + (x % cell)] - 127.5) / 127.5;
    return t < 0 ? mix([255, 255, 255], [20, 40, 200], -t) : mix([255, 255, 255], [200, 20, 20], t);
  });
  const kind = w.side === 28 ? (w.outputs ? "output units (digits 0-9)" : "hidden units") : `${w.side}x${w.side} filters`;
  $("weights-title").textContent = `First-layer weights: ${w.units < w.of ? `the first ${w.units} of ${w.of}` : `all ${w.units}`} ` +
    `${kind} (red +, blue −, up to ±${w.limit.toPrecision(2)})`;
}

function drawConfusion(counts) {
  const canvas = $("train-confusion");
  const cell = 30, margin = 18;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = (margin + 10 * cell) * ratio;
  canvas.height = (margin + 10 * cell) * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.font = "11px system-ui, sans-serif";
  g.textAlign = "center";
  g.textBaseline = "middle";
  for (let t = 0; t < 10; t++) {
    const total = counts[t].reduce((a, b) => a + b, 0) || 1;
    g.fillStyle = CHART.text;
    g.fillText(String(t), margin / 2, margin + t * cell + cell / 2);
    g.fillText(String(t), margin + t * cell + cell / 2, margin / 2);
    for (let p = 0; p < 10; p++) {
      const share = counts[t][p] / total;
      const [r, gr, b] = t === p ? mix(COLOURS.canvas, COLOURS.best, 0.25 + 0.75 * share)
        : mix(COLOURS.canvas, COLOURS.against, Math.min(1, 10 * share));
      g.fillStyle = `rgb(${r},${gr},${b})`;
      g.fillRect(margin + p * cell, margin + t * cell, cell - 1, cell - 1);
      if (counts[t][p]) {
        g.fillStyle = "#f5f5f5";
        g.fillText(String(counts[t][p]), margin + p * cell + cell / 2, margin + t * cell + cell / 2);
      }
    }
  }
}

// -- the buttons -----------------------------------------------------------------------------------

$("train").addEventListener("click", startTraining);
$("train-stop").addEventListener("click", () =>
  api("/api/train", undefined, "DELETE").catch((error) => trainStatus(error.message, true)));
$("train-use").addEventListener("click", async () => {
  try {
    const answer = await api("/api/train/use", { use: training.answer && training.answer.using_trained ? "previous" : "trained" });
    setButtons(false, answer);
    state.guess = null; // the next guess comes from the model now in use
    render();
    await showModel();
    trainStatus(answer.using_trained ? `Drawing with ${answer.in_use}: draw a digit and press Guess.`
      : `Back to ${answer.in_use}.`);
    training.answer = { ...training.answer, ...answer };
  } catch (error) {
    trainStatus(error.message, true);
  }
});
$("train-save").addEventListener("click", async () => {
  try {
    const answer = await api("/api/train/save", {});
    training.answer = { ...training.answer, ...answer };
    setButtons(false, answer);
    trainStatus(`Saved as ${answer.saved}: train.py --resume, the window and python -m nn predict read it.`);
    await showModel();
  } catch (error) {
    trainStatus(error.message, true);
  }
});
$("t-conv").addEventListener("input", showDefaultRate);
$("t-optimizer").addEventListener("change", showDefaultRate);

(async function startTrainPanel() {
  const answer = await api("/api/train").catch(() => null);
  if (answer === null) {
    $("train-panel").hidden = true; // a server without training
    return;
  }
  fillSettings(answer);
  if (answer.state === "running" || answer.trained) {
    training.losses = [];
    pollTraining(); // a run under way (the page reloaded), or one to use
  }
})();
