// The brush, in the browser: nn/session/canvas.py's formula, for the web page and the offline page.
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
};
