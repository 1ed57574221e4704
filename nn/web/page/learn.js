// Learning, shown: one step of gradient descent on the drawing (POST /api/step), a hidden unit's
// sum written out (POST /api/predict with "unit"), and what the network thinks each digit looks
// like (GET /api/dream). The server computes every number (nn/session/learning.py); this file
// asks and shows, as the window does.
"use strict";

const learning = {
  lesson: null, // {label, steps, reply, version}: the steps shown
  lr: null, // the learning rate; null until the model says its default
  busy: false,
};

function learnRate() {
  const typed = Number($("learn-lr").value);
  return Number.isFinite(typed) && typed > 0 ? typed : learning.lr;
}

function lessonCurrent() {
  const lesson = learning.lesson;
  return lesson !== null && lesson.version === state.version ? lesson : null;
}

function guessCurrent() {
  return state.guess !== null && state.guess.version === state.version && !blank();
}

// G, or the Learn button: the learning view; in it, G takes one more step.
function learn() {
  if (state.learn && lessonCurrent()) {
    takeSteps(learning.lesson.label, learning.lesson.steps + 1);
    return;
  }
  if (state.learn) {
    setStatus(say("learn_on"));
    return;
  }
  toggleLearn();
}

function toggleLearn() {
  state.learn = !state.learn;
  $("learn").setAttribute("aria-pressed", String(state.learn));
  $("learn-view").hidden = !state.learn;
  if (state.learn) {
    setStatus(say(guessCurrent() ? "learn_on" : "learn_needs_guess"), !guessCurrent());
    if (narrow()) $("learn-view").scrollIntoView({ block: "nearest" });
  }
  render();
}

// A digit, in the learning view: one step toward it; the same digit again, one more.
function learnToward(label) {
  if (!guessCurrent()) {
    setStatus(say("learn_needs_guess"), true);
    return;
  }
  const lesson = lessonCurrent();
  takeSteps(label, lesson && lesson.label === label ? lesson.steps + 1 : 1);
}

// The steps, all of them again from the model in use: a copy learns, the model does not.
async function takeSteps(label, steps) {
  if (learning.busy) return;
  learning.busy = true;
  const version = state.version;
  steps = Math.min(steps, session.maxSteps || 100);
  try {
    const reply = await api("/api/step", { grid: gridForServer(), width: state.cols, height: SIZE,
                                           select: state.select, label, lr: learnRate(), steps });
    learning.lesson = { label, steps, reply, version };
    const losses = reply.loss;
    setStatus(say("learned", { count: steps, s: steps === 1 ? "" : "s", label,
                               before: losses[0].toFixed(3), after: losses[losses.length - 1].toFixed(3) }));
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    learning.busy = false;
    render();
  }
}

// [ halves the rate, ] doubles it; the steps shown are taken again.
function changeRate(key) {
  const rate = Math.min(10, Math.max(1e-6, key === "[" ? learnRate() / 2 : learnRate() * 2));
  $("learn-lr").value = String(Number(rate.toPrecision(3)));
  const lesson = lessonCurrent();
  if (state.learn && lesson) takeSteps(lesson.label, lesson.steps);
  else setStatus(say("rate_is", { lr: $("learn-lr").value }));
}

// K, or Keep: the model in use becomes the copy the steps taught, saved like a taught model.
async function keepLesson() {
  const lesson = lessonCurrent();
  if (!state.learn || !lesson) {
    setStatus(say("keep_needs_step"), true);
    return;
  }
  try {
    const reply = await api("/api/step/keep", { grid: gridForServer(), width: state.cols, height: SIZE,
                                                select: state.select, label: lesson.label,
                                                lr: lesson.reply.lr, steps: lesson.steps });
    learning.lesson = null;
    $("undo").disabled = !reply.can_undo;
    await showModel();
    await requestGuess(true); // the new model's guess and bars
    setStatus(say("kept", { label: lesson.label, count: lesson.steps, s: lesson.steps === 1 ? "" : "s",
                            lr: String(lesson.reply.lr), model: reply.model }));
  } catch (error) {
    setStatus(error.message, true);
  }
}

// The learning view, from the lesson: the loss, A - Y, the hidden error, the weights' change.
function drawLearning() {
  const lesson = lessonCurrent();
  $("learn-step").disabled = !lesson;
  $("learn-keep").disabled = !lesson;
  $("learn-labels").querySelectorAll("button").forEach((button, d) => {
    button.disabled = !guessCurrent();
    button.classList.toggle("chosen", lesson !== null && lesson.label === d);
  });
  $("learn-numbers").hidden = !lesson;
  $("learn-changes-view").hidden = !lesson || lesson.reply.units.length === 0;
  if (!lesson) {
    $("learn-title").textContent = `One step of learning, lr ${learnRate()}`;
    $("learn-loss").textContent = "";
    return;
  }
  const r = lesson.reply;
  $("learn-title").textContent = `Learning toward ${r.label}, lr ${r.lr}`;
  const losses = r.loss.map((v) => v.toFixed(3));
  const shown = losses.length <= 5 ? losses : [...losses.slice(0, 2), "…", losses[losses.length - 1]];
  $("learn-loss").textContent = `loss −log p(${r.label}): ${shown.join(" → ")}`;
  const rows = $("learn-error");
  if (rows.children.length === 0) {
    for (let d = 0; d < 10; d++) {
      const row = document.createElement("li");
      row.innerHTML = `<span>${d}</span><span class="axis"><span class="bar"></span></span><span class="v"></span>`;
      rows.appendChild(row);
    }
  }
  // ten signed bars around zero: negative (green, left) means that digit's score will rise
  r.output_error.forEach((e, d) => {
    const row = rows.children[d];
    row.classList.toggle("label", d === r.label);
    const bar = row.querySelector(".bar");
    bar.className = `bar ${e < 0 ? "up" : "down"}`;
    bar.style.width = `${(Math.min(1, Math.abs(e)) * 100).toFixed(1)}%`;
    row.querySelector(".v").textContent = (e >= 0 ? "+" : "") + e.toFixed(3);
  });
  $("learn-hidden-view").hidden = r.hidden_error.length === 0;
  if (r.hidden_error.length) {
    $("learn-hidden-title").textContent = `hidden error dZ, ${r.hidden_error[0].length} units`;
    paintRGB($("learn-hidden"), r.hidden_error_rgb[0]);
  }
  $("learn-changes-title").textContent = r.changes_of === "filters"
    ? `−lr · dW: the ${r.units.length} first filters that moved most`
    : `−lr · x · dZ_j: the weights into the ${r.units.length} units that moved most`;
  const box = $("learn-changes");
  box.replaceChildren(...r.changes_rgb.map((picture, i) => {
    const figure = document.createElement("figure");
    const canvas = document.createElement("canvas");
    paintRGB(canvas, picture);
    const caption = document.createElement("figcaption");
    caption.textContent = String(r.units[i]);
    figure.append(canvas, caption);
    return figure;
  }));
}

// The probabilities after the steps, a tick where they were before (in the bars).
function lessonBars() {
  const lesson = state.learn ? lessonCurrent() : null;
  if (!lesson) return null;
  const p = lesson.reply.probabilities;
  return { before: p[0], after: p[p.length - 1], steps: lesson.steps };
}

// -- what the network thinks each digit looks like ------------------------------------------------

async function toggleDreams() {
  state.dreams = !state.dreams;
  $("dreams").setAttribute("aria-pressed", String(state.dreams));
  $("dreams-view").hidden = !state.dreams;
  if (!state.dreams) return;
  setStatus(say("dreams_on"));
  try {
    const reply = await api("/api/dream");
    $("dreams-list").replaceChildren(...reply.dreams.map((d) => {
      const figure = document.createElement("figure");
      const canvas = document.createElement("canvas");
      paint(canvas, SIZE, SIZE, (i) => mix(COLOURS.canvas, COLOURS.ink, d.grid[i]));
      const caption = document.createElement("figcaption");
      caption.textContent = `${d.digit}: ${(d.probabilities[d.digit] * 100).toFixed(0)}%`;
      figure.append(canvas, caption);
      return figure;
    }));
  } catch (error) {
    setStatus(error.message, true);
  }
}

// -- a unit, written out: a click on the hidden layer (a CNN: the first feature maps) -------------

// Which unit of a picture of `columns` x `rows` cells, each unit `tile` cells every `step`, a click is on.
function unitAt(event, canvas, columns, rows, step, tile, count) {
  const box = canvas.getBoundingClientRect();
  const width = columns * step - step + tile, height = rows * step - step + tile;
  const x = Math.floor((event.clientX - box.left) / box.width * width);
  const y = Math.floor((event.clientY - box.top) / box.height * height);
  if (x % step >= tile || y % step >= tile) return null;
  const k = Math.floor(y / step) * columns + Math.floor(x / step);
  return k < count ? k : null;
}

function chooseUnit(k) {
  if (k === null) return;
  state.unit = state.unit === k ? null : k;
  if (guessCurrent()) requestGuess(true);
}

$("hidden").addEventListener("click", (event) => {
  const guess = state.guess;
  if (event.target !== $("hidden").firstElementChild || !guess || !guess.hidden_rgb) return;
  const picture = guess.hidden_rgb[0];
  chooseUnit(unitAt(event, event.target, picture.width, picture.height, 1, 1, guess.hidden[0].length));
});

$("maps").addEventListener("click", (event) => {
  const guess = state.guess;
  const first = $("maps").firstElementChild;
  if (!first || event.target !== first.firstElementChild || !guess || !guess.maps) return;
  const { filters, side } = guess.maps[0];
  const columns = Math.ceil(Math.sqrt(filters));
  chooseUnit(unitAt(event, event.target, columns, Math.ceil(filters / columns), side + 1, side, filters));
});

// In the inside view, where the evidence map was: the unit's weights (a filter and its map), and
// its sum written out under both.
function drawUnit(guess) {
  const unit = guess && state.unit !== null ? guess.unit : null;
  $("unit-sum").hidden = !unit;
  $("unit-map").hidden = !unit || unit.kind !== "filter";
  $("evidence-key").textContent = unit ? "green: +, red: − (click it again: the evidence)"
    : "green: pushed toward the digit, red: against";
  if (!unit) return false;
  $("evidence-title").textContent = unit.kind === "filter" ? `Filter ${unit.unit} and its map`
    : `Unit ${unit.unit}: its 784 weights`;
  $("evidence-sum").textContent = "";
  paintRGB($("evidence"), unit.weights_rgb);
  if (unit.kind === "filter") paintRGB($("unit-map"), unit.map_rgb);
  $("unit-sum").textContent = unit.lines.join("\n");
  return true;
}

// -- the buttons ----------------------------------------------------------------------------------

(function buildLearning() {
  const labels = $("learn-labels");
  for (let d = 0; d < 10; d++) {
    const button = document.createElement("button");
    button.textContent = String(d);
    button.title = `one step of learning toward ${d}`;
    button.addEventListener("click", () => learnToward(d));
    labels.appendChild(button);
  }
  $("learn").addEventListener("click", toggleLearn);
  $("dreams").addEventListener("click", toggleDreams);
  $("learn-step").addEventListener("click", learn);
  $("learn-keep").addEventListener("click", keepLesson);
  $("learn-lr").addEventListener("change", () => {
    const lesson = lessonCurrent();
    if (lesson) takeSteps(lesson.label, lesson.steps);
  });
})();
