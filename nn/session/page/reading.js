// What the network makes of a drawing, in the browser, with no server: nn/session/preprocess.py's
// normalisation and the network's forward pass (nn/layers.py), step for step, so that a page
// opened from disk, or a phone in a classroom, reads digits by itself and gives the app's answer
// (tests/test_export.py compares the two on MNIST's test digits: within 1e-5 and 1e-4).
//
//   Reading.network(spec)            the network from its description (nn/session/export.py)
//   Reading.read(net, ink, w, h)     ink (h x w, row by row, 0-1) -> {seen, probabilities, digit, ...}
"use strict";

const Reading = (() => {
  const SIDE = 28, BOX = 20, CENTRE = 14;
  const INK_THRESHOLD = 0.1, STROKE_RANGE = [0.09, 0.26], STROKE_TARGET = 0.14;
  const MIN_SIDE = 9, SURE = 0.7; // nn/session/reading.py's
  const f32 = Math.fround; // the app computes in float32: each stored value rounded as NumPy does

  // Python's round(): halves go to the even neighbour.
  function roundHalfEven(x) {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }

  // A picture: { h, w, v: Float32Array(h * w) }, row by row.
  const picture = (h, w, v) => ({ h, w, v: v || new Float32Array(h * w) });

  function max(p) {
    let m = -Infinity;
    for (const x of p.v) if (x > m) m = x;
    return m;
  }

  // The smallest rectangle of p holding every pixel above `above`.
  function crop(p, above) {
    let top = p.h, bottom = -1, left = p.w, right = -1;
    for (let r = 0; r < p.h; r++) {
      for (let c = 0; c < p.w; c++) {
        if (p.v[r * p.w + c] > above) {
          top = Math.min(top, r); bottom = Math.max(bottom, r);
          left = Math.min(left, c); right = Math.max(right, c);
        }
      }
    }
    const out = picture(bottom - top + 1, right - left + 1);
    for (let r = 0; r < out.h; r++) {
      for (let c = 0; c < out.w; c++) out.v[r * out.w + c] = p.v[(top + r) * p.w + left + c];
    }
    return out;
  }

  function pad(p, k) {
    const out = picture(p.h + 2 * k, p.w + 2 * k);
    for (let r = 0; r < p.h; r++) out.v.set(p.v.subarray(r * p.w, (r + 1) * p.w), (r + k) * out.w + k);
    return out;
  }

  // The pen's width: 2 x ink area / boundary length (preprocess.stroke_width).
  function strokeWidth(p) {
    const half = 0.5 * max(p), inside = (r, c) => r >= 0 && c >= 0 && r < p.h && c < p.w && p.v[r * p.w + c] > half;
    let area = 0, inner = 0;
    for (let r = 0; r < p.h; r++) {
      for (let c = 0; c < p.w; c++) {
        if (!inside(r, c)) continue;
        area++;
        if (inside(r - 1, c) && inside(r + 1, c) && inside(r, c - 1) && inside(r, c + 1)) inner++;
      }
    }
    return 2 * area / Math.max(1, area - inner);
  }

  // Hairlines widened, bold strokes narrowed: the largest (or smallest) ink within k cells.
  function matchStrokeWidth(p) {
    const side = Math.max(p.h, p.w), width = strokeWidth(p);
    const [low, high] = STROKE_RANGE;
    if (low * side <= width && width <= high * side) return p;
    const k = roundHalfEven(Math.abs(STROKE_TARGET * side - width) / 2);
    if (k < 1) return p;
    const grow = width < low * side;
    const padded = pad(p, k), out = picture(padded.h, padded.w);
    for (let r = 0; r < out.h; r++) {
      for (let c = 0; c < out.w; c++) {
        let best = grow ? -Infinity : Infinity;
        for (let i = r - k; i <= r + k; i++) {
          for (let j = c - k; j <= c + k; j++) {
            const x = i >= 0 && j >= 0 && i < out.h && j < out.w ? padded.v[i * out.w + j] : 0;
            best = grow ? Math.max(best, x) : Math.min(best, x);
          }
        }
        out.v[r * out.w + c] = best;
      }
    }
    return max(out) > INK_THRESHOLD ? out : p; // never erode a digit away
  }

  // Pillow's Lanczos resampling (Image.resize, Resample.c): each output pixel a weighted sum of the
  // inputs within 3 (scaled) pixels of its centre, the weights sinc(x) sinc(x / 3), summing to 1.
  function lanczos(x) {
    const sinc = (t) => (t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t));
    return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
  }

  function weights(inSize, outSize) {
    const scale = inSize / outSize, filterScale = Math.max(scale, 1), support = 3 * filterScale;
    const ss = 1 / filterScale;
    const rows = [];
    for (let o = 0; o < outSize; o++) {
      const centre = (o + 0.5) * scale;
      const from = Math.max(0, Math.trunc(centre - support + 0.5));
      const to = Math.min(inSize, Math.trunc(centre + support + 0.5));
      const k = [];
      let total = 0;
      for (let i = from; i < to; i++) {
        const w = lanczos((i - centre + 0.5) * ss);
        k.push(w);
        total += w;
      }
      rows.push({ from, k: total !== 0 ? k.map((w) => w / total) : k });
    }
    return rows;
  }

  function resize(p, w, h) { // horizontal pass first, then vertical, each stored as float32
    let out = p;
    if (w !== p.w) {
      const across = weights(p.w, w), next = picture(p.h, w);
      for (let r = 0; r < p.h; r++) {
        across.forEach(({ from, k }, c) => {
          let s = 0;
          for (let i = 0; i < k.length; i++) s += p.v[r * p.w + from + i] * k[i];
          next.v[r * w + c] = s;
        });
      }
      out = next;
    }
    if (h !== p.h) {
      const down = weights(p.h, h), next = picture(h, out.w);
      down.forEach(({ from, k }, r) => {
        for (let c = 0; c < out.w; c++) {
          let s = 0;
          for (let i = 0; i < k.length; i++) s += out.v[(from + i) * out.w + c] * k[i];
          next.v[r * out.w + c] = s;
        }
      });
      out = next;
    }
    return out;
  }

  // A drawing (h x w, ink 0-1) -> the 784 numbers the network receives: cropped to its ink, its
  // pen matched to MNIST's, scaled to 20 pixels on its longer side, its centre of mass at (14, 14).
  function normalize(ink, w, h) {
    let drawing = picture(h, w, Float32Array.from(ink, (x) => Math.min(1, Math.max(0, x))));
    const field = new Float32Array(SIDE * SIDE);
    const darkest = max(drawing);
    if (!(darkest > 0)) return field;
    const digit0 = matchStrokeWidth(crop(drawing, f32(INK_THRESHOLD * Math.max(darkest, 1e-6))));
    const digit = crop(digit0, f32(INK_THRESHOLD * max(digit0)));
    const scale = BOX / Math.max(digit.h, digit.w);
    const box = resize(digit, Math.max(1, roundHalfEven(digit.w * scale)), Math.max(1, roundHalfEven(digit.h * scale)));
    for (let i = 0; i < box.v.length; i++) box.v[i] = Math.min(1, Math.max(0, box.v[i]));
    const top = max(box);
    if (top > 0) for (let i = 0; i < box.v.length; i++) box.v[i] = box.v[i] / top;
    let total = 0, cy = 0, cx = 0;
    for (let r = 0; r < box.h; r++) {
      for (let c = 0; c < box.w; c++) {
        const x = box.v[r * box.w + c];
        total += x; cy += r * x; cx += c * x;
      }
    }
    // a half-pixel tie rounded to 1/1000 first, then to the even pixel, as the app does
    const dy = roundHalfEven((CENTRE - cy / total) * 1000) / 1000, dx = roundHalfEven((CENTRE - cx / total) * 1000) / 1000;
    const row = Math.min(Math.max(roundHalfEven(dy), 0), SIDE - box.h);
    const col = Math.min(Math.max(roundHalfEven(dx), 0), SIDE - box.w);
    for (let r = 0; r < box.h; r++) field.set(box.v.subarray(r * box.w, (r + 1) * box.w), (row + r) * SIDE + col);
    return field;
  }

  // -- the network: its layers, as nn/layers.py and nn/activations.py compute them ----------------

  function decode(array) { // {shape, dtype, data: base64 little-endian} -> a typed array
    const bytes = Uint8Array.from(atob(array.data), (ch) => ch.charCodeAt(0));
    return array.dtype === "float64" ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
  }

  const ACTIVATIONS = {
    relu: (z) => (z > 0 ? z : 0),
    leaky_relu: (z) => (z > 0 ? z : 0.01 * z),
    elu: (z) => (z > 0 ? z : Math.expm1(z)),
    sigmoid: (z) => (1 + Math.tanh(z / 2)) / 2,
    tanh: Math.tanh,
  };

  // A layer takes {shape: [h, w, c] or [n], v: Float64Array} and returns the same.
  const LAYERS = {
    // Z = X · W + b
    dense({ W, b }) {
      const nIn = W.shape[0], nOut = W.shape[1], w = decode(W), bias = decode(b);
      return (x) => {
        const z = Float64Array.from(bias);
        for (let i = 0; i < nIn; i++) {
          const xi = x.v[i];
          if (xi === 0) continue;
          for (let j = 0, at = i * nOut; j < nOut; j++) z[j] += xi * w[at + j];
        }
        return { shape: [nOut], v: z };
      };
    },
    // Y[y, x, f] = b[f] + sum over i, j, c of P[y + i, x + j, c] · W[i, j, c, f], P padded by k // 2
    conv2d({ W, b }) {
      const [k, , C, F] = W.shape, p = Math.floor(k / 2), w = decode(W), bias = decode(b);
      const sum = new Float64Array(F);
      return (x) => {
        const [h, wd] = x.shape, y = new Float64Array(h * wd * F);
        for (let r = 0; r < h; r++) {
          const iFrom = Math.max(0, p - r), iTo = Math.min(k, h + p - r); // the kernel's rows inside X
          for (let c = 0; c < wd; c++) {
            const jFrom = Math.max(0, p - c), jTo = Math.min(k, wd + p - c);
            sum.set(bias);
            for (let i = iFrom; i < iTo; i++) {
              for (let j = jFrom; j < jTo; j++) {
                const from = ((r + i - p) * wd + c + j - p) * C, at = (i * k + j) * C * F;
                for (let ch = 0; ch < C; ch++) {
                  const v = x.v[from + ch];
                  if (v === 0) continue; // after a ReLU, most are
                  for (let f = 0, a = at + ch * F; f < F; f++) sum[f] += v * w[a + f];
                }
              }
            }
            y.set(sum, (r * wd + c) * F);
          }
        }
        return { shape: [h, wd, F], v: y };
      };
    },
    // Y[y, x, c] = max over a, b in {0, 1} of X[2y + a, 2x + b, c]
    maxpool2d() {
      return (x) => {
        const [h, w, C] = x.shape, oh = Math.floor(h / 2), ow = Math.floor(w / 2), y = new Float64Array(oh * ow * C);
        for (let r = 0; r < oh; r++) {
          for (let c = 0; c < ow; c++) {
            const top = (2 * r * w + 2 * c) * C, bottom = top + w * C, out = (r * ow + c) * C;
            for (let ch = 0; ch < C; ch++) {
              y[out + ch] = Math.max(x.v[top + ch], x.v[top + C + ch], x.v[bottom + ch], x.v[bottom + C + ch]);
            }
          }
        }
        return { shape: [oh, ow, C], v: y };
      };
    },
    flatten: () => (x) => ({ shape: [x.v.length], v: x.v }),
    unflatten: ({ shape }) => (x) => ({ shape, v: x.v }),
    activation: ({ name }) => {
      const g = ACTIVATIONS[name];
      return (x) => ({ shape: x.shape, v: x.v.map(g) });
    },
  };

  // The output layer: softmax (cross-entropy) or ten sigmoids scaled to sum to 1 (mse).
  function probabilities(z, output) {
    if (output === "sigmoid") {
      const a = z.map(ACTIVATIONS.sigmoid), total = a.reduce((s, x) => s + x, 0);
      return a.map((x) => x / Math.max(total, 1.1754943508222875e-38));
    }
    const top = Math.max(...z), logSum = Math.log(z.reduce((s, x) => s + Math.exp(x - top), 0));
    return z.map((x) => Math.exp(Math.max(x - top - logSum, -60))); // log softmax, floored at e^-60
  }

  // The network described by nn/session/export.py's reader_spec: a forward function of 784 inputs.
  function network(spec) {
    const layers = spec.layers.map((layer) => LAYERS[layer.type](layer));
    return {
      name: spec.name,
      forward(inputs) {
        let x = { shape: [inputs.length], v: Float64Array.from(inputs) };
        for (const layer of layers) x = layer(x);
        return Array.from(probabilities(x.v, spec.output));
      },
    };
  }

  // The longer side, in cells, of the box around the ink (reading.ink_span).
  function inkSpan(ink, w, h) {
    let top = h, bottom = -1, left = w, right = -1;
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        if (ink[r * w + c] > 0.1) {
          top = Math.min(top, r); bottom = Math.max(bottom, r); left = Math.min(left, c); right = Math.max(right, c);
        }
      }
    }
    return bottom < 0 ? 0 : Math.max(bottom - top, right - left) + 1;
  }

  // One drawing on the grid, read as nn/session/reading.py's read(drawn=True) reads it.
  function read(net, ink, w = SIDE, h = SIDE) {
    const seen = normalize(ink, w, h);
    const blank = !seen.some((x) => x > 0);
    const p = net.forward(seen);
    const digit = p.indexOf(Math.max(...p));
    const order = p.map((x, d) => [x, d]).sort((a, b) => b[0] - a[0]);
    const span = inkSpan(ink, w, h);
    const verdict = span > 0 && span < MIN_SIDE ? "too_small" : p[digit] >= SURE ? "sure" : "unsure";
    return { seen: Array.from(seen), probabilities: p, digit, confidence: p[digit], runner_up: order[1][1],
             verdict, blank, model: net.name };
  }

  return { normalize, network, read, SIDE };
})();
