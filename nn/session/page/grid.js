// The brush and the pointer, in the browser: nn/session/canvas.py's formula, for the web page and
// the offline page.
// Every cell gets ink by the distance d from its centre to the segment: 1 within `core`, 0 beyond
// `outer`, linear between. Painting keeps the larger of ink and brush, erasing the smaller of ink
// and 1 - brush.
"use strict";

const Grid = {
  // Paint (or erase) the segment (x0, y0)-(x1, y1), in cells, on ink (rows x cols, row by row).
  // Returns whether any cell changed.
  stroke(ink, cols, rows, x0, y0, x1, y1, { core, outer }, erase) {
    const dx = x1 - x0, dy = y1 - y0, length2 = dx * dx + dy * dy;
    const rowFrom = Math.max(0, Math.floor(Math.min(y0, y1) - outer));
    const rowTo = Math.min(rows - 1, Math.ceil(Math.max(y0, y1) + outer));
    const colFrom = Math.max(0, Math.floor(Math.min(x0, x1) - outer));
    const colTo = Math.min(cols - 1, Math.ceil(Math.max(x0, x1) + outer));
    let changed = false;
    for (let r = rowFrom; r <= rowTo; r++) {
      for (let c = colFrom; c <= colTo; c++) {
        const cx = c + 0.5, cy = r + 0.5;
        const t = length2 > 0 ? Math.min(1, Math.max(0, ((cx - x0) * dx + (cy - y0) * dy) / length2)) : 0;
        const d = Math.hypot(cx - (x0 + t * dx), cy - (y0 + t * dy));
        const strength = Math.min(1, Math.max(0, (outer - d) / (outer - core)));
        const i = r * cols + c;
        const value = erase ? Math.min(ink[i], 1 - strength) : Math.max(ink[i], strength);
        if (value !== ink[i]) {
          ink[i] = value;
          changed = true;
        }
      }
    }
    return changed;
  },

  // Mouse, pen and finger alike: stroke(x0, y0, x1, y1, erase), in cells, for every move of a
  // pointer held down on `canvas` (cols(), rows: the grid's size); the right mouse button and a
  // pen's eraser end (button 5) rub out, as any pointer does while eraser() says so; up() when
  // it lifts.
  follow(canvas, { cols, rows, stroke, eraser = () => false, up = () => {} }) {
    let pointer = null;
    const cellsAt = (event) => {
      const box = canvas.getBoundingClientRect();
      return [(event.clientX - box.left) / box.width * cols(), (event.clientY - box.top) / box.height * rows];
    };
    canvas.addEventListener("pointerdown", (event) => {
      if (pointer !== null || !(event.button === 0 || event.button === 2 || event.button === 5)) return;
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      const [x, y] = cellsAt(event);
      pointer = { id: event.pointerId, erase: eraser() || event.button === 2 || event.button === 5, x, y };
      stroke(x, y, x, y, pointer.erase);
    });
    canvas.addEventListener("pointermove", (event) => {
      if (pointer === null || event.pointerId !== pointer.id) return;
      event.preventDefault();
      // Fast moves arrive as several events at once: follow each for a smoother line.
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      for (const e of events.length ? events : [event]) {
        const [x, y] = cellsAt(e);
        stroke(pointer.x, pointer.y, x, y, pointer.erase);
        Object.assign(pointer, { x, y });
      }
    });
    const lift = (event) => {
      if (pointer === null || event.pointerId !== pointer.id) return;
      pointer = null;
      up();
    };
    canvas.addEventListener("pointerup", lift);
    canvas.addEventListener("pointercancel", lift);
    canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  },
};
