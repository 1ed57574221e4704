// The drawing page: paint on a 28x28 grid with the window's soft brush, and ask the server
// (python draw.py --web) what the network makes of it. The server normalises the drawing and runs
// the network; this file only paints, sends the grid, and shows the answer. The keys, the words
// and the colours are the session's (nn/session: commands.py, pictures.py), from GET /api/model.
"use strict";

const SIZE = 28; // the grid's rows; its columns: 28, or 4 x 28 for a number (state.cols)
const NUMBER_COLS = 4 * SIZE;
// Live mode asks at most once per LIVE_EVERY: the bars follow the pen, and a class of forty
// phones drawing at once asks the server for 270 guesses a second, which it answers with room to
// spare even when this machine runs slow (python -m nn.bench --only classroom), not the 2,400
// that every pen move would be.
const LIVE_EVERY = 150; // ms
const LIVE_EVERY_HERE = 40; // ms: a phone that reads itself (a class's) follows the pen closer
const MODEL_CHECK_EVERY = 5000; // ms: such a phone asks this often which model answers
let COLOURS = { canvas: [8, 8, 12], ink: [245, 245, 245], grid: [44, 48, 60], active: [250, 190, 80],
                background: [28, 30, 38] }; // replaced by the server's palette at start
const session = { commands: [], messages: {}, terms: {}, maxSteps: 100,
                  reader: null, serial: null }; // reader: the network, when this page reads itself

// A message of the session's, its {fields} filled in, in the page's terms (Guess, Clear...).
function say(name, values = {}) {
  const all = { ...session.terms, ...values };
  return (session.messages[name] || name).replace(/\{(\w+)\}/g, (_, key) => String(all[key]));
}

const state = {
  ink: new Float32Array(SIZE * SIZE), // row by row, 0 = paper, 1 = full ink
  cols: SIZE, // the grid's columns: SIZE, or NUMBER_COLS in number mode
  select: 0, // number mode: the digit whose guess, bars and inside view are shown
  steps: false, // the steps view: from the drawing to what the network sees
  version: 0, // bumps on every change of the drawing
  guess: null, // the server's answer, with the version it was made for
  live: false,
  inside: false, // the inside view: hidden layer and evidence map
  explain: null, // the digit whose evidence is shown (a clicked bar); null: the guess
  unit: null, // the hidden unit (a CNN: the filter) clicked in the inside view, its sum written out
  learn: false, // the learning view: one step of learning on the drawing (learn.js)
  dreams: false, // what the network thinks each digit looks like (learn.js)
  eraser: false, // the Eraser button (the right mouse button and a pen's eraser erase anyway)
  brush: { core: 0.75, outer: 1.75 }, // replaced by the server's (nn/session/canvas.py) at start
  rubber: { core: 1.5, outer: 2.5 },
  busy: false, // a guess is on its way
  liveAt: -Infinity, // when the last live guess was asked (performance.now())
  liveTimer: null, // the next live guess, waiting for its turn
  again: false, // the drawing changed while it was
  saving: false, // a save is on its way: a second key press must not save the drawing twice
  dirty: true, // the grid needs redrawing
};

const $ = (id) => document.getElementById(id);
const gridCanvas = $("grid");

// -- the brush: nn/session/page/grid.js, the same formula as nn/session/canvas.py ---------------

function stroke(x0, y0, x1, y1, erase) {
  if (Grid.stroke(state.ink, state.cols, SIZE, x0, y0, x1, y1, erase ? state.rubber : state.brush, erase)) {
    drawingChanged();
  }
}

function blank() {
  return !state.ink.some((v) => v > 0);
}

function drawingChanged() {
  state.version++;
  state.dirty = true;
  if (state.live) requestGuess(true);
  else if (state.guess) setStatus(say("stale"));
  render();
}

// -- pointer input: mouse, pen and touch alike (nn/session/page/grid.js) --------------------------

Grid.follow(gridCanvas, { cols: () => state.cols, rows: SIZE, stroke, eraser: () => state.eraser });

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
// one is out sends one more when it returns. A class's phone reads a digit itself (readsHere).
async function requestGuess(automatic) {
  if (blank()) {
    state.guess = null;
    if (!automatic) setStatus(say("draw_first"), true);
    render();
    return;
  }
  if (state.busy) {
    state.again = true;
    return;
  }
  if (automatic && state.live) { // not sooner than LIVE_EVERY after the last: one waits its turn
    const wait = state.liveAt + (readsHere() ? LIVE_EVERY_HERE : LIVE_EVERY) - performance.now();
    if (wait > 0) {
      if (state.liveTimer === null) {
        state.liveTimer = setTimeout(() => { state.liveTimer = null; requestGuess(true); }, wait);
      }
      return;
    }
    state.liveAt = performance.now();
  }
  if (readsHere()) {
    const started = performance.now();
    const reading = Reading.read(session.reader, state.ink);
    showGuess({ ...reading, took: performance.now() - started }, state.version, automatic);
    render();
    return;
  }
  state.busy = true;
  const version = state.version;
  try {
    const body = { grid: gridForServer(), width: state.cols, height: SIZE, inside: state.inside,
                   steps: state.steps, select: state.select };
    if (state.inside && state.explain !== null) body.explain = state.explain;
    if (state.inside && state.unit !== null) body.unit = state.unit;
    let reply;
    try {
      reply = await api("/api/predict", body);
    } catch (error) {
      if (state.select === 0 || !/select/.test(error.message)) throw error;
      state.select = 0; // the number has fewer digits now: its first
      reply = await api("/api/predict", { ...body, select: 0 });
    }
    showGuess(reply, version, automatic);
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

// A class's phone guesses one digit with its own copy of the network (GET /api/model/reader), read
// by reading.js as the server reads it; a number, the inside view and the steps are the server's.
function readsHere() {
  return session.reader !== null && state.cols === SIZE && !state.inside && !state.steps;
}

function showGuess(reply, version, automatic) {
  state.guess = { ...reply, version };
  if (reply.model && session.modelName && reply.model !== session.modelName) { // the teacher switched models
    showModel().then(() => setStatus(say("model_changed", { model: reply.model })));
  }
  if (state.cols > SIZE) state.dirty = true; // the boxes around the digits, on the grid
  if (!automatic) { // a live guess, or one asked again for the inside view, leaves the status as it is
    if (state.cols > SIZE) setStatus(say("number_read", { number: reply.number }));
    else setStatus(say(reply.verdict === "too_small" ? "too_small" : "save_hint"), reply.verdict === "too_small");
  }
  if (!automatic && narrow()) {  // bring the guess and the buttons to save it into view
    requestAnimationFrame(() => $("labels").scrollIntoView({ block: "nearest" }));
  }
}

async function saveAs(label) {
  if (state.saving) return; // one drawing, one row, however fast the keys come
  const guess = state.guess;
  if (guess !== null && guess.version !== state.version && !blank()) {
    setStatus(say("save_stale"), true);
    return;
  }
  if (guess === null || blank()) {
    setStatus(say("save_needs_guess"), true);
    return;
  }
  state.saving = true;
  try {
    const reply = await api("/api/save", { grid: gridForServer(), width: state.cols, height: SIZE,
                                           select: state.select, label });
    clearDrawing();
    setStatus(say("saved", { digit: label, rows: reply.saved, file: reply.file }));
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
  state.select = 0;
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
  setStatus(say(state.eraser ? "eraser_on" : "eraser_off"));
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
  state.unit = null;
  if (!state.inside) toggleInside();
  if (state.guess && state.guess.version === state.version) requestGuess(true);
  render();
}

function toggleNumber() {
  state.cols = state.cols === SIZE ? NUMBER_COLS : SIZE;
  state.ink = new Float32Array(SIZE * state.cols);
  $("number").setAttribute("aria-pressed", String(state.cols > SIZE));
  document.querySelector(".drawing").classList.toggle("wide", state.cols > SIZE);
  gridCanvas.classList.toggle("wide", state.cols > SIZE);
  clearDrawing();
  setStatus(say(state.cols > SIZE ? "number_on" : "number_off"));
}

function toggleSteps() {
  state.steps = !state.steps;
  $("steps").setAttribute("aria-pressed", String(state.steps));
  if (state.steps && state.guess && state.guess.version === state.version && !state.guess.steps) requestGuess(true);
  render();
}

function selectDigit(k) {
  state.select = k;
  state.explain = null;
  if (state.guess && state.guess.version === state.version) requestGuess(true);
}

function toggleLive() {
  state.live = !state.live;
  $("live").setAttribute("aria-pressed", String(state.live));
  setStatus(say(state.live ? "live_on" : "live_off"));
  if (state.live && !blank()) requestGuess(true);
}

function clearAndSay() {
  clearDrawing();
  setStatus(say("cleared"));
  if (narrow()) gridCanvas.scrollIntoView({ block: "start" }); // a phone scrolled to the answer: back to the grid
}

// The session's commands (nn/session/commands.py), as this page carries them out. The keys come
// from the server's table; a button does what its command's key does.
const COMMANDS = {
  guess: () => requestGuess(false), clear: clearAndSay, eraser: toggleEraser, live: toggleLive,
  inside: toggleInside, steps: toggleSteps, number: toggleNumber,
  save: (key) => (state.learn ? learnToward(Number(key)) : saveAs(Number(key))),
  learn: () => learn(), rate: (key) => changeRate(key), keep: () => keepLesson(), dreams: () => toggleDreams(),
  teach: () => teach(), undo: () => undoTeaching(), photo: () => choosePhoto(), page: savePage,
};

// The network in use as one page that reads digits offline: the server writes it, the browser keeps it.
function savePage() {
  const link = document.createElement("a");
  link.href = "/api/page";
  link.download = "";
  link.click();
  setStatus(say("page_saved", { file: "the page" }));
}

// A command's button has its name for id, but Guess's: id="guess" shows the guess itself.
const button = (name) => $(name === "guess" ? "ask" : name);
for (const name of ["guess", "eraser", "clear", "live", "inside", "steps", "number", "photo", "page"]) {
  button(name).addEventListener("click", () => COMMANDS[name]());
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  if (event.target.closest && event.target.closest("input, select, textarea")) return; // typing a setting
  const key = event.key.toLowerCase();
  const command = session.commands.find((c) => c.keys.includes(key) && COMMANDS[c.name]);
  if (!command) return;
  COMMANDS[command.name](key);
  event.preventDefault();
});

// What the session says the commands are: the buttons' titles and the footer.
function showCommands(commands) {
  session.commands = commands.filter((c) => c.views.split(" ").includes("page"));
  for (const c of session.commands) {
    const shown = button(c.name);
    if (shown && c.keys.length) shown.title = `${c.shown}: ${c.does}`;
  }
  $("keys").textContent = "Keys: " + session.commands.filter((c) => c.keys.length)
    .map((c) => c.footer).join(" · ");
}

// -- showing it -----------------------------------------------------------------------------------

function build() {
  const bars = $("bars");
  const labels = $("labels");
  for (let d = 0; d < 10; d++) {
    const row = document.createElement("li");
    row.innerHTML = `<span class="d">${d}</span><span class="track"><span class="fill"></span>` +
      `<span class="tick" hidden></span></span>` +
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
  const digit = $("guess");
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
  drawNumber(guess && current ? guess : null);
  drawSteps(state.steps && guess && current ? photoSteps() || guess.steps : null);
  $("inside-view").hidden = !state.inside;
  if (state.inside) drawInside(guess && current ? guess : null);
  // in the learning view, after a step: the probabilities after it, a tick where they were before
  const learned = lessonBars();
  if (state.learn) drawLearning();
  const shownP = learned ? learned.after : guess ? guess.probabilities : null;
  const best = shownP ? shownP.indexOf(Math.max(...shownP)) : null;
  $("bars-title").textContent = learned ? `After ${learned.steps === 1 ? "the step" : `${learned.steps} steps`}`
    : "All ten probabilities";
  if (learned) $("bars-hint").textContent = "(white tick: before)";
  $("bars").querySelectorAll("li").forEach((row, d) => {
    const p = shownP ? shownP[d] : 0;
    row.querySelector(".fill").style.width = `${(p * 100).toFixed(1)}%`;
    row.querySelector(".p").textContent = shownP ? `${(p * 100).toFixed(1)}%` : "-";
    row.classList.toggle("best", shownP !== null && d === best);
    const tick = row.querySelector(".tick");
    tick.hidden = !learned;
    if (learned) tick.style.left = `calc(${(learned.before[d] * 100).toFixed(1)}% - 1px)`;
  });
  $("labels").querySelectorAll("button").forEach((button) => { button.disabled = !current; });
  drawSeen(guess ? guess.seen : null);
}

function drawGrid() {
  state.dirty = false;
  const cols = state.cols;
  const scale = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(gridCanvas.clientWidth * scale));
  const cell = width / cols;
  const height = Math.round(cell * SIZE);
  if (gridCanvas.width !== width || gridCanvas.height !== height) {
    gridCanvas.width = width;
    gridCanvas.height = height;
  }
  const g = gridCanvas.getContext("2d");
  for (let r = 0; r < SIZE; r++) {
    for (let c = 0; c < cols; c++) {
      g.fillStyle = colour(state.ink[r * cols + c]);
      g.fillRect(Math.floor(c * cell), Math.floor(r * cell), Math.ceil(cell) + 1, Math.ceil(cell) + 1);
    }
  }
  g.strokeStyle = `rgb(${COLOURS.grid.join(",")})`;
  g.lineWidth = Math.max(1, scale);
  g.beginPath();
  for (let i = 0; i <= cols; i++) {
    const at = Math.round(i * cell) + 0.5;
    g.moveTo(at, 0);
    g.lineTo(at, height);
  }
  for (let i = 0; i <= SIZE; i++) {
    const at = Math.round(i * cell) + 0.5;
    g.moveTo(0, at);
    g.lineTo(width, at);
  }
  g.stroke();
  // number mode: a box around each digit read, its guess and confidence on it
  const guess = state.guess;
  if (cols > SIZE && guess && guess.version === state.version && guess.digits) {
    g.font = `${Math.round(11 * scale)}px system-ui, sans-serif`;
    guess.digits.forEach((d, k) => {
      const [x, y, w, h] = d.box;
      g.strokeStyle = g.fillStyle = k === guess.select ? "#5caaff" : d.verdict === "sure" ? "#6edc8c" : "#fac85a";
      g.lineWidth = 2 * scale;
      g.strokeRect(x * cell - 2, y * cell - 2, w * cell + 4, h * cell + 4);
      g.fillText(`${d.digit} ${Math.round(d.confidence * 100)}%`, x * cell, Math.max(11 * scale, y * cell - 4));
    });
  }
}

// Number mode: the number read, each digit a button that shows its own guess, bars and inside view.
function drawNumber(guess) {
  const line = $("number-line");
  line.hidden = state.cols === SIZE;
  const chips = $("number-digits");
  chips.replaceChildren();
  if (!guess || !guess.digits) {
    $("number-text").textContent = state.cols > SIZE ? "write a number, then press Guess" : "";
    return;
  }
  $("number-text").textContent = `Read: ${guess.number}`;
  guess.digits.forEach((d, k) => {
    const button = document.createElement("button");
    button.textContent = String(d.digit);
    button.title = `digit ${k + 1}: ${d.digit}, ${(d.confidence * 100).toFixed(1)}% sure`;
    button.setAttribute("aria-pressed", String(k === guess.select));
    button.addEventListener("click", () => selectDigit(k));
    chips.appendChild(button);
  });
}

// The steps view: from the drawing (the digit shown) to the numbers the network receives.
function drawSteps(steps) {
  const view = $("steps-view");
  view.hidden = !state.steps;
  if (!state.steps) return;
  const list = $("steps-list");
  list.replaceChildren();
  if (!steps) {
    $("steps-note").textContent = say("press_s");
    return;
  }
  $("steps-note").textContent = "";
  $("steps-title").textContent = `From your ${photoSteps() ? "photo" : "drawing"} to what the network sees`;
  steps.forEach((step, k) => {
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    caption.className = "dim small";
    caption.textContent = `${k + 1}. ${step.says}`;
    if (step.picture.png) { // a photo's steps: larger pictures, as PNG
      const image = document.createElement("img");
      image.src = `data:image/png;base64,${step.picture.png}`;
      image.alt = step.name;
      figure.append(image, caption);
    } else {
      const canvas = document.createElement("canvas");
      paintRGB(canvas, step.picture);
      figure.append(canvas, caption);
    }
    list.appendChild(figure);
  });
  if (state.guess && state.guess.seen) { // the numbers themselves, as the network gets them
    const table = document.createElement("pre");
    table.className = "numbers";
    const seen = state.guess.seen;
    const rows = [];
    for (let r = 0; r < SIZE; r++) {
      rows.push(Array.from(seen.slice(r * SIZE, (r + 1) * SIZE), (v) => (v === 0 ? "  . " : v.toFixed(2).replace(/^0/, " "))).join(""));
    }
    table.textContent = rows.join("\n");
    list.appendChild(table);
  }
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
    drawUnit(null);
    title.textContent = "Evidence";
    sum.textContent = guess ? "" : say("press_s");
    paint($("evidence"), SIZE, SIZE, () => COLOURS.canvas);
    hidden.replaceChildren();
    return;
  }
  if (!drawUnit(guess)) { // else the unit's weights and its sum are shown where the evidence was
    title.textContent = `Evidence for ${guess.evidence_for}`;
    if (guess.evidence_exact) {
      const pixels = guess.evidence.reduce((a, b) => a + b, 0);
      const sign = guess.bias >= 0 ? "+" : "−";
      sum.textContent = `score ${guess.score.toFixed(2)} = ${pixels.toFixed(2)} from the pixels ` +
        `${sign} ${Math.abs(guess.bias).toFixed(2)} from the biases`;
    } else {
      sum.textContent = "approximate (gradient × input): this network is not ReLU";
    }
    // the server's picture: green where a pixel pushed toward the digit, red against
    paintRGB($("evidence"), guess.evidence_rgb);
  }
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
    const top = Math.max(...units.map(Math.abs)) || 1;
    paintRGB(canvas, guess.hidden_rgb[l]);
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
      if (x % step === side || y % step === side || f >= filters) return COLOURS.background;
      const t = levels[(f * side + (y % step)) * side + (x % step)] / 255;
      return mix(COLOURS.canvas, COLOURS.active, t);
    });
    caption.textContent = `convolution ${l + 1}: ${filters} maps of ${side}x${side}, brightest ${top.toPrecision(2)}`;
  });
}

// A picture the server made (nn/session/pictures.py): {width, height, rgb: base64 of its bytes}.
function paintRGB(canvas, picture) {
  const bytes = Uint8Array.from(atob(picture.rgb), (ch) => ch.charCodeAt(0));
  paint(canvas, picture.width, picture.height, (i) => bytes.subarray(3 * i, 3 * i + 3));
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
      teachStatus(say("teaching", { percent: Math.round(answer.progress * 100) }));
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
    teachStatus(say("taught", { summary: answer.summary, held_out: answer.held_out, model: answer.model }));
    state.guess = null; // guesses come from the taught model from now on
    render();
  } else if (answer.state === "cancelled") {
    teachStatus(say("teach_cancelled"));
  } else if (answer.state === "failed") {
    teachStatus(say("teach_failed", { error: answer.error }), true);
  }
  $("undo").disabled = !answer.can_undo;
  showModel();
}

async function undoTeaching() {
  try {
    const answer = await api("/api/teach/undo", {});
    teachStatus(say(answer.file_kept ? "undone_file_kept" : "undone", { model: answer.model, file: answer.out }));
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
  session.modelName = model.name;
  session.serial = model.serial;
  if (model.reads_on_phone) {
    const spec = await api("/api/model/reader");
    session.reader = spec.serial === model.serial ? Reading.network(spec) : null; // switched meanwhile: the server reads
  }
  showRole(model);
  learning.lesson = null; // the steps shown were the model before's
  if (model.shape !== session.shape) { // another kind of model: its own units, its own rate
    Object.assign(session, { shape: model.shape, maxSteps: model.max_steps });
    state.unit = null;
    learning.lr = model.step_lr;
    $("learn-lr").value = String(model.step_lr);
  }
  return model;
}

// A classroom (draw.py --web --classroom): the class's page has no training, teaching, keeping or
// undoing (the server refuses them too, 403); the teacher's can show the class's link as a QR code.
function showRole(model) {
  const teacher = model.role !== "class";
  if (!teacher) $("train-panel").hidden = true;
  document.querySelector(".teach").hidden = !teacher;
  $("learn-keep").hidden = !teacher;
  $("class-link").hidden = !model.class_link;
  $("role").textContent = model.role === "class" ? "(the class's page)" : model.class_link ? "(teacher)" : "";
  if (model.class_link) $("qr-link").textContent = model.class_link;
}

// A phone that reads itself hears of a new model by asking: its copy of the network, replaced.
async function checkModel() {
  if (document.hidden) return;
  const now = await api("/api/model/in-use").catch(() => null);
  if (now === null || now.serial === session.serial) return;
  await showModel();
  setStatus(say("model_changed", { model: now.name }));
  if (state.guess && state.guess.version === state.version) requestGuess(true);
}

function toggleClassLink() {
  const shown = $("qr-view").hidden;
  if (shown) $("qr-image").src = "/api/qr";
  $("qr-view").hidden = !shown;
}
$("class-link").addEventListener("click", toggleClassLink);
$("qr-view").addEventListener("click", toggleClassLink);

async function start() {
  build();
  render();
  try {
    const model = await showModel();
    state.brush = model.brush;
    state.rubber = model.eraser;
    COLOURS = model.colours;
    Object.assign(session, { messages: model.messages, terms: model.terms });
    showCommands(model.commands);
    $("saves-to").textContent = model.saves_to;
    setStatus(say("start"));
    if (model.reads_on_phone) setInterval(checkModel, MODEL_CHECK_EVERY);
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

document.addEventListener("DOMContentLoaded", start); // after learn.js, whose functions render() calls
