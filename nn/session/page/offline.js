// The offline page (python -m nn export MODEL page.html): draw on the grid, and the network inside
// this file reads it (reading.js). The brush is grid.js; the words are the app's (nn/session/commands.py).
"use strict";

(() => {
  const SIZE = 28;
  const settings = JSON.parse(document.getElementById("settings").textContent);
  const net = Reading.network(settings.model);
  const $ = (id) => document.getElementById(id);
  const grid = $("grid");
  const ink = new Float32Array(SIZE * SIZE);
  let reading = null, version = 0, readAt = -1;

  const say = (name) => settings.messages[name].replace(/\{(\w+)\}/g, (_, key) => settings.terms[key] || key);
  const rgb = (c) => `rgb(${c.join(",")})`;
  const mix = (a, b, t) => a.map((x, i) => Math.round(x + (b[i] - x) * t));

  function status(text, warn = false) {
    $("status").textContent = text;
    $("status").classList.toggle("warn", warn);
  }

  function drawGrid() {
    const scale = window.devicePixelRatio || 1, side = Math.max(1, Math.round(grid.clientWidth * scale));
    if (grid.width !== side) grid.width = grid.height = side;
    const g = grid.getContext("2d"), cell = side / SIZE;
    for (let r = 0; r < SIZE; r++) {
      for (let c = 0; c < SIZE; c++) {
        g.fillStyle = rgb(mix(settings.colours.canvas, settings.colours.ink, ink[r * SIZE + c]));
        g.fillRect(Math.floor(c * cell), Math.floor(r * cell), Math.ceil(cell) + 1, Math.ceil(cell) + 1);
      }
    }
    g.strokeStyle = rgb(settings.colours.grid);
    g.beginPath();
    for (let i = 0; i <= SIZE; i++) {
      const at = Math.round(i * cell) + 0.5;
      g.moveTo(at, 0); g.lineTo(at, side); g.moveTo(0, at); g.lineTo(side, at);
    }
    g.stroke();
  }

  function show() {
    const current = reading !== null && readAt === version;
    const pct = (p) => `${(p * 100).toFixed(1)}%`;
    const digit = $("guess");
    let text = "no guess yet", note = "";
    if (reading === null) {
      digit.textContent = "?";
    } else if (reading.verdict === "too_small") {
      digit.textContent = "?";
      text = "too small";
      note = "draw the digit bigger";
    } else {
      digit.textContent = String(reading.digit);
      text = reading.verdict === "unsure" ? `unsure: ${pct(reading.confidence)}` : `${pct(reading.confidence)} sure`;
      if (reading.verdict === "unsure") note = `or ${reading.runner_up}? (${pct(reading.probabilities[reading.runner_up])})`;
    }
    if (reading !== null && !current) note = "before your last change";
    digit.className = reading === null ? "none" : reading.verdict === "sure" ? "" : "unsure";
    $("confidence").textContent = text;
    $("note").textContent = note;
    const best = reading ? reading.digit : -1;
    $("bars").querySelectorAll("li").forEach((row, d) => {
      const p = reading ? reading.probabilities[d] : 0;
      row.querySelector(".fill").style.width = `${(p * 100).toFixed(1)}%`;
      row.querySelector(".p").textContent = reading ? pct(p) : "-";
      row.classList.toggle("best", d === best);
    });
    const seen = $("seen").getContext("2d"), image = seen.createImageData(SIZE, SIZE);
    for (let i = 0; i < SIZE * SIZE; i++) {
      const [r, g, b] = mix(settings.colours.canvas, settings.colours.ink, reading ? reading.seen[i] : 0);
      image.data.set([r, g, b, 255], 4 * i);
    }
    seen.putImageData(image, 0, 0);
  }

  function guess() {
    if (!ink.some((v) => v > 0)) {
      reading = null;
      status(say("draw_first"), true);
    } else {
      reading = Reading.read(net, ink);
      readAt = version;
      status(reading.verdict === "too_small" ? say("too_small") : "", reading.verdict === "too_small");
    }
    show();
  }

  function clear() {
    ink.fill(0);
    reading = null;
    version++;
    drawGrid();
    show();
    status(say("cleared"));
  }

  // -- mouse, pen and finger alike (grid.js); reading here costs a few milliseconds, so every
  // stroke gets its answer as the pen lifts
  function paint(x0, y0, x1, y1, erase) {
    if (Grid.stroke(ink, SIZE, SIZE, x0, y0, x1, y1, erase ? settings.eraser : settings.brush, erase)) {
      version++;
      drawGrid();
    }
  }
  Grid.follow(grid, { cols: () => SIZE, rows: SIZE, stroke: paint, up: guess });

  $("ask").addEventListener("click", guess);
  $("clear").addEventListener("click", clear);
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const key = event.key.toLowerCase();
    if (key === "s") guess();
    else if (key === "c" || key === "backspace") clear();
    else return;
    event.preventDefault();
  });

  for (let d = 0; d < 10; d++) {
    const row = document.createElement("li");
    row.innerHTML = `<span class="d">${d}</span><span class="track"><span class="fill"></span></span><span class="p">-</span>`;
    $("bars").appendChild(row);
  }
  window.drawing = { ink: () => Array.from(ink), reading: () => reading }; // for scripts (and tests)
  new ResizeObserver(drawGrid).observe(grid);
  drawGrid();
  show();
  status(say("start"));
})();
