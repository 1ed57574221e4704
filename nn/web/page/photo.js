// The Photo button: a number written on paper, photographed (a phone opens its camera, a laptop
// its files), sent to the server (POST /api/photo), and shown: the photo with a box around each
// digit read and the number. Tapping a digit puts it on the grid, as the network saw it, where
// the rest of the page works on it: its bars, the inside view, saving it, a step of learning.
// The steps view shows every step from the photo to the digits. (The server does all the
// reading: nn/session/photo.py.)
"use strict";

const PHOTO_SIDE = 1600; // px: the photo is sent this large at most (a phone's camera takes 4000)
const photo = { reply: null, image: null, version: -1, select: 0, busy: false };

function choosePhoto() {
  $("photo-file").click(); // the O key or the button: a phone opens its camera, a laptop its files
}

async function readPhoto(file) {
  if (photo.busy) return;
  photo.busy = true;
  setStatus(say("photo_reading"));
  try {
    const { blob, image } = await smaller(file);
    let response;
    try {
      response = await fetch("/api/photo", { method: "POST", headers: { "Content-Type": blob.type || "image/jpeg" }, body: blob });
    } catch (error) {
      throw new Error("The server does not answer: is python draw.py --web still running?");
    }
    const reply = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(reply.error || `${response.status} ${response.statusText}`);
    photo.reply = reply;
    photo.image = image;
    showPhotoDigit(0);
    setStatus(say("photo_read", { number: reply.number }));
    if (narrow()) requestAnimationFrame(() => $("status").scrollIntoView({ block: "start" }));
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    photo.busy = false;
    drawPhoto();
  }
}

// The photo as the page sends it: turned upright as the camera said, at most PHOTO_SIDE pixels
// on its longer side, as a JPEG (a phone's 4 MB photo goes as 300 KB). A picture the browser
// cannot decode goes as it is, and the server says what it makes of it.
async function smaller(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (error) {
    return { blob: file, image: null };
  }
  const scale = Math.min(1, PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
  return { blob: blob || file, image: blob ? canvas : null };
}

// Digit k of the photo on the grid (one digit: 28 x 28), and its guess asked for as any drawing's.
function showPhotoDigit(k) {
  const digits = photo.reply.digits;
  photo.select = k;
  if (state.cols !== SIZE) toggleNumber();
  state.ink = Float32Array.from(digits[k].seen);
  state.version++;
  state.guess = null;
  state.explain = null;
  state.dirty = true;
  photo.version = state.version;
  requestGuess(true);
  drawPhoto();
}

// The steps the steps view shows while the grid holds a digit of the photo, as it came.
function photoSteps() {
  return photo.reply && photo.version === state.version ? photo.reply.steps : null;
}

function drawPhoto() {
  const view = $("photo-view");
  view.hidden = photo.reply === null;
  if (photo.reply === null) return;
  const reply = photo.reply;
  $("photo-text").textContent = reply.digits.length ? `Read: ${reply.number}` : "";
  const canvas = $("photo-canvas");
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const scale = width / reply.width;
  canvas.width = width;
  canvas.height = Math.max(1, Math.round(reply.height * scale));
  const g = canvas.getContext("2d");
  if (photo.image) g.drawImage(photo.image, 0, 0, canvas.width, canvas.height);
  g.font = `${Math.round(14 * ratio)}px system-ui, sans-serif`;
  g.lineWidth = 3 * ratio;
  reply.digits.forEach((d, k) => {
    const [x, y, w, h] = d.box.map((v) => v * scale);
    const pad = 3 * ratio;
    g.strokeStyle = g.fillStyle = k === photo.select ? "#5caaff" : d.verdict === "sure" ? "#2fa84f" : "#e0a020";
    g.strokeRect(x - pad, y - pad, w + 2 * pad, h + 2 * pad);
    const full = `${d.digit} ${Math.round(d.confidence * 100)}%`; // the digit alone where its box is narrow
    const label = g.measureText(full).width <= w + 2 * pad ? full : String(d.digit);
    const top = Math.max(16 * ratio, y - pad - 4 * ratio);
    g.fillRect(x - pad, top - 14 * ratio, g.measureText(label).width + 6 * ratio, 17 * ratio);
    g.fillStyle = "#ffffff";
    g.fillText(label, x - pad + 3 * ratio, top);
  });
}

$("photo-file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  event.target.value = ""; // the same photo chosen again is read again
  if (file) readPhoto(file);
});
$("photo-close").addEventListener("click", () => {
  photo.reply = null;
  photo.image = null;
  photo.version = -1;
  drawPhoto();
  render();
});
$("photo-canvas").addEventListener("click", (event) => {
  if (!photo.reply || !photo.reply.digits.length) return;
  const canvas = $("photo-canvas");
  const box = canvas.getBoundingClientRect();
  const scale = photo.reply.width / box.width;
  const x = (event.clientX - box.left) * scale, y = (event.clientY - box.top) * scale;
  const distance = (d) => Math.hypot(x - (d.box[0] + d.box[2] / 2), y - (d.box[1] + d.box[3] / 2));
  const digits = photo.reply.digits;
  showPhotoDigit(digits.indexOf(digits.reduce((a, b) => (distance(a) <= distance(b) ? a : b))));
});
new ResizeObserver(drawPhoto).observe($("photo-canvas"));
