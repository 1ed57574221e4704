// The drawing page: paint on a 28x28 grid with the window's soft brush, and ask the server
// (python draw.py --web) what the network makes of it. The server normalises the drawing and runs
// the network; this file only paints, sends the grid, and shows the answer.
"use strict";

const SIZE = 28;
const COLOURS = {
  canvas: [8, 8, 12], ink: [245, 245, 245], grid: "#2c303c",
  toward: [110, 220, 140], against: [240, 96, 80], active: [250, 190, 80], negative: [92, 170, 255],
};

const state = {
  ink: new Float32Array(SIZE * SIZE), // row by row, 0 = paper, 1 = full ink
  version: 0, // bumps on every change of the drawing
  guess: null, // the server's answer, with the version it was made for
  live: false,
  inside: false, // the inside view: hidden layer and evidence map
  explain: null, // the digit whose evidence is shown (a clicked bar); null: the guess
  eraser: false, // the Eraser button (the right mouse button and a pen's eraser erase anyway)
  brush: { core: 0.75, outer: 1.75 }, // replaced by the server's (nn/canvas.py) at start
  rubber: { core: 1.5, outer: 2.5 },
  pointer: null, // {id, erase, x, y} while a pointer draws
  busy: false, // a guess is on its way
  again: false, // the drawing changed while it was
  saving: false, // a save is on its way: a second key press must not save the drawing twice
  dirty: true, // the grid needs redrawing
};

const $ = (id) => document.getElementById(id);
const gridCanvas = $("grid");

// -- the brush: the same formula as nn/canvas.py --------------------------------------------------
// Every cell gets ink by the distance d from its centre to the segment: 1 within `core`,
// 0 beyond `outer`, linear between. Painting keeps the larger ink, erasing the smaller of
// ink and 1 - brush.

function stroke(x0, y0, x1, y1, erase) {
  const { core, outer } = erase ? state.rubber : state.brush;
  const dx = x1 - x0, dy = y1 - y0, length2 = dx * dx + dy * dy;
  const rowFrom = Math.max(0, Math.floor(Math.min(y0, y1) - outer));
  const rowTo = Math.min(SIZE - 1, Math.ceil(Math.max(y0, y1) + outer));
  const colFrom = Math.max(0, Math.floor(Math.min(x0, x1) - outer));
  const colTo = Math.min(SIZE - 1, Math.ceil(Math.max(x0, x1) + outer));
  let changed = false;
  for (let r = rowFrom; r <= rowTo; r++) {
    for (let c = colFrom; c <= colTo; c++) {
      const cx = c + 0.5, cy = r + 0.5;
      const t = length2 > 0 ? Math.min(1, Math.max(0, ((cx - x0) * dx + (cy - y0) * dy) / length2)) : 0;
      const d = Math.hypot(cx - (x0 + t * dx), cy - (y0 + t * dy));
      const strength = Math.min(1, Math.max(0, (outer - d) / (outer - core)));
      const i = r * SIZE + c;
      const value = erase ? Math.min(state.ink[i], 1 - strength) : Math.max(state.ink[i], strength);
      if (value !== state.ink[i]) {
        state.ink[i] = value;
        changed = true;
      }
    }
  }
  if (changed) drawingChanged();
}

function blank() {
  return !state.ink.some((v) => v > 0);
}

function drawingChanged() {
  state.version++;
  state.dirty = true;
  if (state.live) requestGuess(true);
  else if (state.guess) setStatus("Changed since the guess: press Guess (or S) again.");
  render();
}

// -- pointer input: mouse, pen and touch alike ----------------------------------------------------

function cellsAt(event) {
  const box = gridCanvas.getBoundingClientRect();
  return [(event.clientX - box.left) / box.width * SIZE, (event.clientY - box.top) / box.height * SIZE];
}

gridCanvas.addEventListener("pointerdown", (event) => {
  if (state.pointer !== null || !(event.button === 0 || event.button === 2 || event.button === 5)) return;
  event.preventDefault();
  gridCanvas.setPointerCapture(event.pointerId);
  // the right mouse button, and a pen's eraser end (button 5), rub out
  const erase = state.eraser || event.button === 2 || event.button === 5;
  const [x, y] = cellsAt(event);
  state.pointer = { id: event.pointerId, erase, x, y };
  stroke(x, y, x, y, erase);
});

gridCanvas.addEventListener("pointermove", (event) => {
  const pointer = state.pointer;
  if (pointer === null || event.pointerId !== pointer.id) return;
  event.preventDefault();
  // Fast moves arrive as several events at once: follow each for a smoother line.
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const e of events.length ? events : [event]) {
    const [x, y] = cellsAt(e);
    stroke(pointer.x, pointer.y, x, y, pointer.erase);
    pointer.x = x;
    pointer.y = y;
  }
});

function penUp(event) {
  if (state.pointer !== null && event.pointerId === state.pointer.id) state.pointer = null;
}
gridCanvas.addEventListener("pointerup", penUp);
gridCanvas.addEventListener("pointercancel", penUp);
gridCanvas.addEventListener("contextmenu", (event) => event.preventDefault());

// -- talking to the server ------------------------------------------------------------------------

async function api(path, body, method) {
  const options = body === undefined ? { method: method || "GET" } : {
    method: method || "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    throw new Error("The server does not answer: is python draw.py --web still running?");
  }
  const reply = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(reply.error || `${response.status} ${response.statusText}`);
  return reply;
}

function gridForServer() {
  return Array.from(state.ink, (v) => Math.round(v * 10000) / 10000);
}

// Live mode asks after every change, but never has two guesses on the way: a change made while
// one is out sends one more when it returns.
async function requestGuess(automatic) {
  if (blank()) {
    state.guess = null;
    if (!automatic) setStatus("Draw a digit first.", true);
    render();
    return;
  }
  if (state.busy) {
    state.again = true;
    return;
  }
  state.busy = true;
  const version = state.version;
  try {
    const body = { grid: gridForServer(), inside: state.inside };
    if (state.inside && state.explain !== null) body.explain = state.explain;
    const reply = await api("/api/predict", body);
    state.guess = { ...reply, version };
    if (!automatic || !state.live) {
      setStatus("Right or wrong, save it as training data: press or tap the digit you drew.");
    }
    if (!automatic && narrow()) {  // bring the guess and the buttons to save it into view
      requestAnimationFrame(() => $("labels").scrollIntoView({ block: "nearest" }));
    }
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    state.busy = false;
    render();
    if (state.again) {
      state.again = false;
      if (state.live && state.version !== version) requestGuess(true);
    }
  }
}

async function saveAs(label) {
  if (state.saving) return; // one drawing, one row, however fast the keys come
  const guess = state.guess;
  if (guess !== null && guess.version !== state.version && !blank()) {
    setStatus("You changed the drawing since the guess: press Guess (or S) again, then the digit.", true);
    return;
  }
  if (guess === null || blank()) {
    setStatus("Press Guess (or S) first, then the digit, to save the drawing with that label.", true);
    return;
  }
  state.saving = true;
  try {
    const reply = await api("/api/save", { grid: gridForServer(), label });
    clearDrawing();
    setStatus(`Saved as ${label} (${reply.saved} in ${reply.file}). Draw the next one.`);
    if (narrow()) gridCanvas.scrollIntoView({ block: "start" }); // back to the grid, saved line below it
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    state.saving = false;
  }
}

function narrow() {
  return window.matchMedia("(max-width: 860px) and (orientation: portrait), (max-width: 600px), " +
                           "(max-height: 520px) and (orientation: landscape)").matches;
}

function clearDrawing() {
  state.ink.fill(0);
  state.version++;
  state.guess = null;
  state.explain = null;
  state.dirty = true;
  render();
}

// -- controls -------------------------------------------------------------------------------------

function setStatus(text, warn = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("warn", warn);
}

function toggleEraser() {
  state.eraser = !state.eraser;
  $("eraser").setAttribute("aria-pressed", String(state.eraser));
  gridCanvas.classList.toggle("erasing", state.eraser);
  setStatus(state.eraser ? "Eraser on: drawing now rubs out." : "Eraser off: drawing paints.");
}

function toggleInside() {
  state.inside = !state.inside;
  $("inside").setAttribute("aria-pressed", String(state.inside));
  // the current guess has no inside data yet: ask again (same drawing, so it stays current)
  if (state.inside && state.guess && state.guess.version === state.version && !state.guess.hidden) {
    requestGuess(true);
  }
  render();
}

function explainDigit(digit) {
  state.explain = digit;
  if (!state.inside) toggleInside();
  if (state.guess && state.guess.version === state.version) requestGuess(true);
  render();
}

function toggleLive() {
  state.live = !state.live;
  $("live").setAttribute("aria-pressed", String(state.live));
  setStatus(state.live ? "Live mode on: the guess follows your pen." : "Live mode off.");
  if (state.live && !blank()) requestGuess(true);
}

$("guess").addEventListener("click", () => requestGuess(false));
$("eraser").addEventListener("click", toggleEraser);
$("clear").addEventListener("click", () => {
  clearDrawing();
  setStatus("Cleared. Draw a digit, then press Guess (or S).");
});
$("live").addEventListener("click", toggleLive);
$("inside").addEventListener("click", toggleInside);

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  if (event.target.closest && event.target.closest("input, select, textarea")) return; // typing a setting
  const key = event.key;
  if (/^[0-9]$/.test(key)) saveAs(Number(key));
  else if (key === "s" || key === "S") requestGuess(false);
  else if (key === "c" || key === "C" || key === "Backspace") {
    clearDrawing();
    setStatus("Cleared. Draw a digit, then press Guess (or S).");
  } else if (key === "l" || key === "L") toggleLive();
  else if (key === "e" || key === "E") toggleEraser();
  else if (key === "v" || key === "V") toggleInside();
  else if (key === "t" || key === "T") teach();
  else if (key === "u" || key === "U") undoTeaching();
  else return;
  event.preventDefault();
});

// -- showing it -----------------------------------------------------------------------------------

function build() {
  const bars = $("bars");
  const labels = $("labels");
  for (let d = 0; d < 10; d++) {
    const row = document.createElement("li");
    row.innerHTML = `<span class="d">${d}</span><span class="track"><span class="fill"></span></span>` +
      `<span class="p">-</span>`;
    row.title = `show the evidence for ${d}`;
    row.addEventListener("click", () => explainDigit(d));
    bars.appendChild(row);
    const button = document.createElement("button");
    button.textContent = String(d);
    button.title = `save the drawing as a ${d}`;
    button.addEventListener("click", () => saveAs(d));
    labels.appendChild(button);
  }
  new ResizeObserver(() => { state.dirty = true; render(); }).observe(gridCanvas);
}

function render() {
  if (state.dirty) drawGrid();
  const guess = state.guess;
  const current = guess !== null && guess.version === state.version;
  const digit = $("digit");
  const verdict = guess ? guess.verdict : null;
  const pct = (p) => `${(p * 100).toFixed(p > 0.999 || p < 0.1 ? 1 : 0)}%`;
  let text = "no guess yet", note = "";
  if (verdict === "too_small") {
    digit.textContent = "?";
    text = "too small";
    note = "draw the digit bigger";
  } else if (guess) {
    digit.textContent = String(guess.digit);
    text = verdict === "unsure" ? `unsure: ${pct(guess.confidence)}` : `${(guess.confidence * 100).toFixed(1)}% sure`;
    if (verdict === "unsure") {
      note = `or ${guess.runner_up}? (${pct(guess.probabilities[guess.runner_up])})`;
    }
  } else {
    digit.textContent = "?";
  }
  if (guess && !current) note = "before your last change";
  digit.className = !guess ? "none" : !current ? "stale" : verdict === "sure" ? "" : "unsure";
  $("confidence").textContent = text;
  $("confidence").classList.toggle("warn", current && verdict !== "sure" && verdict !== null);
  $("note").textContent = note;
  $("note").classList.toggle("warn", current && verdict !== "sure" && verdict !== null);
  $("bars").classList.toggle("stale", guess !== null && !current);
  $("bars-hint").textContent = state.inside ? "(click one for its evidence)" : "";
  const shown = guess && guess.evidence_for !== undefined ? guess.evidence_for : null;
  $("bars").querySelectorAll("li").forEach((row, d) => {
    row.classList.toggle("explained", state.inside && d === shown);
  });
  $("inside-view").hidden = !state.inside;
  if (state.inside) drawInside(guess && current ? guess : null);
  $("bars").querySelectorAll("li").forEach((row, d) => {
    const p = guess ? guess.probabilities[d] : 0;
    row.querySelector(".fill").style.width = `${(p * 100).toFixed(1)}%`;
    row.querySelector(".p").textContent = guess ? `${(p * 100).toFixed(1)}%` : "-";
    row.classList.toggle("best", guess !== null && d === guess.digit);
  });
  $("labels").querySelectorAll("button").forEach((button) => { button.disabled = !current; });
  drawSeen(guess ? guess.seen : null);
}

function drawGrid() {
  state.dirty = false;
  const side = gridCanvas.clientWidth;
  const scale = window.devicePixelRatio || 1;
  const pixels = Math.max(1, Math.round(side * scale));
  if (gridCanvas.width !== pixels) gridCanvas.width = gridCanvas.height = pixels;
  const g = gridCanvas.getContext("2d");
  const cell = pixels / SIZE;
  for (let r = 0; r < SIZE; r++) {
    for (let c = 0; c < SIZE; c++) {
      g.fillStyle = colour(state.ink[r * SIZE + c]);
      g.fillRect(Math.floor(c * cell), Math.floor(r * cell), Math.ceil(cell) + 1, Math.ceil(cell) + 1);
    }
  }
  g.strokeStyle = COLOURS.grid;
  g.lineWidth = Math.max(1, scale);
  g.beginPath();
  for (let i = 0; i <= SIZE; i++) {
    const at = Math.round(i * cell) + 0.5;
    g.moveTo(at, 0);
    g.lineTo(at, pixels);
    g.moveTo(0, at);
    g.lineTo(pixels, at);
  }
  g.stroke();
}

function drawSeen(seen) {
  const canvas = $("seen");
  const g = canvas.getContext("2d");
  const image = g.createImageData(SIZE, SIZE);
  for (let i = 0; i < SIZE * SIZE; i++) {
    const t = seen ? seen[i] : 0;
    for (let k = 0; k < 3; k++) {
      image.data[4 * i + k] = Math.round(COLOURS.canvas[k] * (1 - t) + COLOURS.ink[k] * t);
    }
    image.data[4 * i + 3] = 255;
  }
  g.putImageData(image, 0, 0);
}

function drawInside(guess) {
  const title = $("evidence-title"), sum = $("evidence-sum"), hidden = $("hidden");
  if (!guess || !guess.evidence) {
    title.textContent = "Evidence";
    sum.textContent = guess ? "" : "press Guess to see it";
    paint($("evidence"), SIZE, SIZE, () => COLOURS.canvas);
    hidden.replaceChildren();
    return;
  }
  title.textContent = `Evidence for ${guess.evidence_for}`;
  if (guess.evidence_exact) {
    const pixels = guess.evidence.reduce((a, b) => a + b, 0);
    const sign = guess.bias >= 0 ? "+" : "−";
    sum.textContent = `score ${guess.score.toFixed(2)} = ${pixels.toFixed(2)} from the pixels ` +
      `${sign} ${Math.abs(guess.bias).toFixed(2)} from the biases`;
  } else {
    sum.textContent = "approximate (gradient × input): this network is not ReLU";
  }
  // each pixel: a faint copy of the input, green where it pushed toward the digit, red against
  const scale = Math.max(...guess.evidence.map(Math.abs)) || 1;
  paint($("evidence"), SIZE, SIZE, (i) => {
    const base = mix(COLOURS.canvas, COLOURS.ink, 0.25 * guess.seen[i]);
    const t = guess.evidence[i] / scale;
    const strength = Math.sqrt(Math.abs(t)); // small shares stay visible
    return mix(base, t >= 0 ? COLOURS.toward : COLOURS.against, strength);
  });
  // each hidden layer: one cell per unit, dark = silent, bright = active (blue: below zero)
  const layers = guess.hidden;
  $("hidden-title").textContent = layers.length === 0 ? "No hidden layer: the pixels go straight to the outputs"
    : layers.length === 1 ? "Hidden layer" : "Hidden layers";
  while (hidden.children.length > 2 * layers.length) hidden.lastChild.remove();
  layers.forEach((units, l) => {
    let canvas = hidden.children[2 * l], caption = hidden.children[2 * l + 1];
    if (!canvas) {
      canvas = document.createElement("canvas");
      caption = document.createElement("div");
      caption.className = "dim small";
      hidden.append(canvas, caption);
    }
    const columns = Math.ceil(Math.sqrt(units.length)), rows = Math.ceil(units.length / columns);
    const top = Math.max(...units.map(Math.abs)) || 1;
    paint(canvas, columns, rows, (i) => {
      if (i >= units.length) return [28, 30, 38];
      const t = units[i] / top;
      return t >= 0 ? mix(COLOURS.canvas, COLOURS.active, t) : mix(COLOURS.canvas, COLOURS.negative, -t);
    });
    const active = units.filter((a) => a > 0).length;
    caption.textContent = `${units.length} units, ${active} active, brightest ${top.toPrecision(2)}`;
  });
  drawMaps(guess.maps || []);
}

// A CNN's feature maps: for each convolution, its filters' outputs side by side, one small
// picture each, on one brightness scale per convolution.
function drawMaps(layers) {
  const box = $("maps");
  $("maps-view").hidden = layers.length === 0;
  while (box.children.length > layers.length) box.lastChild.remove();
  layers.forEach((layer, l) => {
    let cell = box.children[l];
    if (!cell) {
      cell = document.createElement("div");
      const caption = document.createElement("div");
      caption.className = "dim small";
      cell.append(document.createElement("canvas"), caption);
      box.append(cell);
    }
    const [canvas, caption] = cell.children;
    const { filters, side } = layer;
    const levels = Uint8Array.from(atob(layer.levels), (ch) => ch.charCodeAt(0)); // 0-255 of max
    const columns = Math.ceil(Math.sqrt(filters)), rows = Math.ceil(filters / columns);
    const step = side + 1, width = columns * step - 1, height = rows * step - 1;
    const top = layer.max || 1;
    paint(canvas, width, height, (i) => {
      const x = i % width, y = Math.floor(i / width);
      const f = Math.floor(y / step) * columns + Math.floor(x / step);
      if (x % step === side || y % step === side || f >= filters) return [28, 30, 38];
      const t = levels[(f * side + (y % step)) * side + (x % step)] / 255;
      return mix(COLOURS.canvas, COLOURS.active, t);
    });
    caption.textContent = `convolution ${l + 1}: ${filters} maps of ${side}x${side}, brightest ${top.toPrecision(2)}`;
  });
}

function paint(canvas, width, height, colourOf) {
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext("2d");
  const image = g.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const [r, gr, b] = colourOf(i);
    image.data.set([Math.round(r), Math.round(gr), Math.round(b), 255], 4 * i);
  }
  g.putImageData(image, 0, 0);
}

function mix(a, b, t) {
  return a.map((v, k) => v + (b[k] - v) * Math.max(0, Math.min(1, t)));
}

function colour(t) {
  const [r, g, b] = COLOURS.canvas.map((low, k) => Math.round(low * (1 - t) + COLOURS.ink[k] * t));
  return `rgb(${r},${g},${b})`;
}

// -- teaching: POST /api/teach starts it, GET /api/teach says how far it is ----------------------

const teaching = { polling: false };

async function teach() {
  if (teaching.polling) { // a second press cancels
    await api("/api/teach", undefined, "DELETE").catch((error) => teachStatus(error.message, true));
    return;
  }
  try {
    await api("/api/teach", {});
  } catch (error) {
    teachStatus(error.message, true);
    return;
  }
  pollTeaching();
}

async function pollTeaching() {
  teaching.polling = true;
  $("teach").textContent = "Cancel";
  $("undo").disabled = true;
  $("teach-progress").hidden = false;
  let answer;
  try {
    for (;;) {
      answer = await api("/api/teach");
      $("teach-progress").value = answer.progress;
      if (answer.state !== "running") break;
      teachStatus(`Teaching: ${Math.round(answer.progress * 100)}%. Drawing and guessing go on meanwhile.`);
      await new Promise((wake) => setTimeout(wake, 300));
    }
  } catch (error) {
    teachStatus(error.message, true);
  } finally {
    teaching.polling = false;
    $("teach").textContent = "Teach";
    $("teach-progress").hidden = true;
  }
  if (!answer) return;
  if (answer.state === "done") {
    teachStatus(`Taught: ${answer.summary} (measured on ${answer.held_out} drawings it was not taught). ` +
      `Saved as ${answer.model}.`);
    state.guess = null; // guesses come from the taught model from now on
    render();
  } else if (answer.state === "cancelled") {
    teachStatus("Teaching cancelled: the model is as it was.");
  } else if (answer.state === "failed") {
    teachStatus(`Teaching failed: ${answer.error}`, true);
  }
  $("undo").disabled = !answer.can_undo;
  showModel();
}

async function undoTeaching() {
  try {
    const answer = await api("/api/teach/undo", {});
    teachStatus(`Undone: back to ${answer.model}.`);
    $("undo").disabled = !answer.can_undo;
    state.guess = null;
    render();
  } catch (error) {
    teachStatus(error.message, true);
  }
  showModel();
}

function teachStatus(text, problem) {
  const line = $("teach-status");
  line.textContent = text;
  line.classList.toggle("problem", Boolean(problem));
}

$("teach").addEventListener("click", teach);
$("undo").addEventListener("click", undoTeaching);

async function showModel() {
  const model = await api("/api/model");
  const accuracy = typeof model.accuracy === "number"
    ? `, ${(model.accuracy * 100).toFixed(2)}% on the MNIST test set` : "";
  $("model").textContent = `Model: ${model.name} (${model.shape || model.sizes.join("-")}${accuracy})`;
  document.title = `Digit recognizer - ${model.name}`;
  return model;
}

async function start() {
  build();
  render();
  try {
    const model = await showModel();
    state.brush = model.brush;
    state.rubber = model.eraser;
    $("saves-to").textContent = model.saves_to;
  } catch (error) {
    setStatus(error.message, true);
    return;
  }
  // a teaching already under way (the page reloaded), or one to undo
  const job = await api("/api/teach").catch(() => null);
  if (job === null) {
    $("teach").disabled = true;
    teachStatus("Teaching is not available from this server.");
  } else if (job.state === "running") {
    pollTeaching();
  } else {
    $("undo").disabled = !job.can_undo;
  }
}

start();
