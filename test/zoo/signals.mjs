// Realistic inputs for the model zoo, made here from arithmetic: speech-like audio (voiced
// syllables with formants, pauses between phrases), raster images with text drawn in a 5x7
// bitmap font, and the image normalizations the models' own packages apply. Deterministic:
// every generator takes a seed, so the zoo compares the same inputs on every run.

/** xorshift32 in [0, 1). */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

// Formant frequencies and bandwidths (Hz) of five vowels, after Peterson & Barney's averages.
const VOWELS = [
  [730, 1090, 2440],
  [270, 2290, 3010],
  [300, 870, 2240],
  [530, 1840, 2480],
  [570, 840, 2410],
];
const BANDWIDTHS = [90, 110, 170];

/**
 * Speech-like audio: phrases of 2-5 syllables, each a harmonic stack on a gliding pitch
 * (f0 100-230 Hz with 5 Hz vibrato) shaped by a vowel's three formant resonances and a spectral
 * tilt, under a syllable-rate envelope (about 4 per second), with fricative-like noise bursts
 * at some syllable onsets, pauses of 0.3-0.8 s between phrases and a faint noise floor, so
 * that a voice activity detector has both speech and silence to decide on. Peak `peak`
 * (0.5 for float audio in [-1, 1]; 16000 for the int16-scale audio openWakeWord takes).
 */
export function speechLike(seconds, { sampleRate = 16000, seed = 1, peak = 0.5, leadingSilence = 0.25 } = {}) {
  const n = Math.round(seconds * sampleRate);
  const out = new Float32Array(n);
  const rand = rng(seed);
  let t = Math.round(leadingSilence * sampleRate);
  while (t < n) {
    const syllables = 2 + Math.floor(rand() * 4);
    const f0Base = 100 + rand() * 130;
    for (let s = 0; s < syllables && t < n; s++) {
      const dur = Math.round((0.12 + rand() * 0.14) * sampleRate);
      const formants = VOWELS[Math.floor(rand() * VOWELS.length)];
      const next = VOWELS[Math.floor(rand() * VOWELS.length)];
      const fricative = rand() < 0.4 ? Math.round(0.04 * sampleRate) : 0;
      // Fricative: differenced white noise (a high-pass hiss) before the vowel.
      let prev = 0;
      for (let i = 0; i < fricative && t + i < n; i++) {
        const w = rand() * 2 - 1;
        out[t + i] += 0.12 * (w - prev) * Math.sin((Math.PI * i) / fricative);
        prev = w;
      }
      t += fricative;
      const phases = new Float64Array(64);
      for (let i = 0; i < dur && t + i < n; i++) {
        const u = i / dur;
        const f0 = f0Base * (1.1 - 0.2 * u) * (1 + 0.02 * Math.sin((2 * Math.PI * 5 * (t + i)) / sampleRate));
        let v = 0;
        for (let k = 1; k < 64 && k * f0 < 0.45 * sampleRate; k++) {
          const f = k * f0;
          let gain = 0;
          for (let j = 0; j < 3; j++) {
            const fc = formants[j] + (next[j] - formants[j]) * u * 0.5; // formant glide
            const d = (f - fc) / BANDWIDTHS[j];
            gain += 1 / (1 + d * d) / (j + 1);
          }
          phases[k] += (2 * Math.PI * f) / sampleRate;
          v += (gain / Math.sqrt(k)) * Math.sin(phases[k]);
        }
        out[t + i] += v * Math.pow(Math.sin(Math.PI * u), 0.6);
      }
      t += dur + Math.round((0.03 + rand() * 0.06) * sampleRate);
    }
    t += Math.round((0.3 + rand() * 0.5) * sampleRate);
  }
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, Math.abs(out[i]));
  const scale = max > 0 ? (0.95 * peak) / max : 1;
  const floor = rng(seed + 1000);
  for (let i = 0; i < n; i++) out[i] = out[i] * scale + peak * 3e-3 * (floor() * 2 - 1);
  return out;
}

// 5x7 bitmap font, one 5-bit row per number, top to bottom.
const FONT = {
  A: [14, 17, 17, 31, 17, 17, 17], B: [30, 17, 17, 30, 17, 17, 30], C: [14, 17, 16, 16, 16, 17, 14],
  D: [30, 17, 17, 17, 17, 17, 30], E: [31, 16, 16, 30, 16, 16, 31], F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15], H: [17, 17, 17, 31, 17, 17, 17], I: [14, 4, 4, 4, 4, 4, 14],
  K: [17, 18, 20, 24, 20, 18, 17], L: [16, 16, 16, 16, 16, 16, 31], M: [17, 27, 21, 21, 17, 17, 17],
  N: [17, 17, 25, 21, 19, 17, 17], O: [14, 17, 17, 17, 17, 17, 14], P: [30, 17, 17, 30, 16, 16, 16],
  R: [30, 17, 17, 30, 20, 18, 17], S: [15, 16, 16, 14, 1, 1, 30], T: [31, 4, 4, 4, 4, 4, 4],
  U: [17, 17, 17, 17, 17, 17, 14], V: [17, 17, 17, 17, 17, 10, 4], W: [17, 17, 17, 21, 21, 21, 10],
  Y: [17, 17, 10, 4, 4, 4, 4], Z: [31, 1, 2, 4, 8, 16, 31],
  0: [14, 17, 19, 21, 25, 17, 14], 1: [4, 12, 4, 4, 4, 4, 14], 2: [14, 17, 1, 2, 4, 8, 31],
  3: [31, 2, 4, 2, 1, 17, 14], 4: [2, 6, 10, 18, 31, 2, 2], 5: [31, 16, 30, 1, 1, 17, 14],
  6: [6, 8, 16, 30, 17, 17, 14], 7: [31, 1, 2, 4, 8, 8, 8], 8: [14, 17, 17, 14, 17, 17, 14],
  9: [14, 17, 17, 15, 1, 2, 12],
};

/** An RGB raster (HWC, float 0-255) with the few drawing calls the zoo needs. */
export class Canvas {
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.rgb = new Float32Array(width * height * 3);
  }

  /** Vertical-and-horizontal gradient between two colours. */
  gradient(from, to) {
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        const u = (x / this.width + y / this.height) / 2;
        for (let c = 0; c < 3; c++) this.rgb[(y * this.width + x) * 3 + c] = from[c] + (to[c] - from[c]) * u;
      }
    }
    return this;
  }

  fillRect(x0, y0, w, h, color) {
    for (let y = Math.max(0, y0); y < Math.min(this.height, y0 + h); y++) {
      for (let x = Math.max(0, x0); x < Math.min(this.width, x0 + w); x++) {
        for (let c = 0; c < 3; c++) this.rgb[(y * this.width + x) * 3 + c] = color[c];
      }
    }
    return this;
  }

  /** A filled disc, or a ring when `thickness` is given. */
  circle(cx, cy, r, color, thickness) {
    for (let y = Math.floor(cy - r); y <= cy + r; y++) {
      for (let x = Math.floor(cx - r); x <= cx + r; x++) {
        if (x < 0 || y < 0 || x >= this.width || y >= this.height) continue;
        const d = Math.hypot(x - cx, y - cy);
        if (d <= r && (thickness === undefined || d >= r - thickness)) {
          for (let c = 0; c < 3; c++) this.rgb[(y * this.width + x) * 3 + c] = color[c];
        }
      }
    }
    return this;
  }

  /** A filled polygon, `points` as [x, y] pairs (even-odd rule, pixel centres). */
  polygon(points, color) {
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    for (let y = Math.max(0, Math.floor(Math.min(...ys))); y <= Math.min(this.height - 1, Math.ceil(Math.max(...ys))); y++) {
      for (let x = Math.max(0, Math.floor(Math.min(...xs))); x <= Math.min(this.width - 1, Math.ceil(Math.max(...xs))); x++) {
        let inside = false;
        for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
          const [xi, yi] = points[i];
          const [xj, yj] = points[j];
          if (yi > y + 0.5 !== yj > y + 0.5 && x + 0.5 < ((xj - xi) * (y + 0.5 - yi)) / (yj - yi) + xi) inside = !inside;
        }
        if (inside) for (let c = 0; c < 3; c++) this.rgb[(y * this.width + x) * 3 + c] = color[c];
      }
    }
    return this;
  }

  /** Sensor-like grain: uniform noise of +-`amount` on every channel, clamped to 0-255. */
  grain(amount, seed) {
    const rand = rng(seed);
    for (let i = 0; i < this.rgb.length; i++) this.rgb[i] = Math.min(255, Math.max(0, this.rgb[i] + amount * (rand() * 2 - 1)));
    return this;
  }

  /** Text in the 5x7 font, each font pixel a `scale` x `scale` block, one blank column between glyphs. */
  text(x0, y0, text, scale, color) {
    let x = x0;
    for (const ch of text.toUpperCase()) {
      const rows = FONT[ch];
      if (rows) {
        for (let r = 0; r < 7; r++) {
          for (let b = 0; b < 5; b++) if (rows[r] & (16 >> b)) this.fillRect(x + b * scale, y0 + r * scale, scale, scale, color);
        }
      }
      x += 6 * scale;
    }
    return this;
  }

  /** Box blur of radius 1, so edges are not perfectly hard, as in a photographed page. */
  soften() {
    const src = this.rgb.slice();
    for (let y = 1; y < this.height - 1; y++) {
      for (let x = 1; x < this.width - 1; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += src[((y + dy) * this.width + x + dx) * 3 + c];
          this.rgb[(y * this.width + x) * 3 + c] = s / 9;
        }
      }
    }
    return this;
  }

  /** NCHW float32 as PaddleOCR feeds its models: (pixel / 255 - mean) / std per channel. */
  toNCHW(mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5]) {
    const plane = this.width * this.height;
    const out = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) out[c * plane + i] = (this.rgb[i * 3 + c] / 255 - mean[c]) / std[c];
    }
    return { dtype: 'float32', data: out, dims: [1, 3, this.height, this.width] };
  }
}

/** A document-like page: paper gradient, a dark title, body lines, a stamp-like ring. */
export function documentImage(width, height, lines) {
  const canvas = new Canvas(width, height).gradient([236, 232, 222], [210, 214, 220]);
  let y = 10;
  for (const [i, line] of lines.entries()) {
    const scale = i === 0 ? 3 : 2;
    canvas.text(12, y, line, scale, i === 0 ? [20, 20, 30] : [50, 45, 60]);
    y += 7 * scale + 10;
  }
  canvas.circle(width - 40, height - 34, 24, [170, 40, 40], 3);
  return canvas.soften();
}

/** One cropped text line as a recognizer sees it: dark text on light, slight gradient. */
export function textLineImage(width, height, text, scale) {
  const canvas = new Canvas(width, height).gradient([245, 242, 235], [225, 228, 232]);
  canvas.text(4, Math.max(0, Math.round((height - 7 * scale) / 2)), text, scale, [25, 25, 35]);
  return canvas.soften();
}

/**
 * An outdoor photo as a background remover sees it: sky over hills and a lawn, a house and a
 * tree behind, and in front a person (head, hair, torso, arms, legs) holding a sign with text,
 * with soft edges and sensor grain. Coordinates scale with the size, so any resolution draws
 * the same scene.
 */
export function sceneImage(width, height, seed = 1) {
  const u = (f) => Math.round(f * width);
  const v = (f) => Math.round(f * height);
  const canvas = new Canvas(width, height).gradient([120, 170, 230], [200, 220, 240]);
  canvas.circle(u(0.82), v(0.14), u(0.06), [255, 236, 170]);
  canvas.polygon([[0, v(0.55)], [u(0.2), v(0.3)], [u(0.45), v(0.55)]], [95, 120, 110]);
  canvas.polygon([[u(0.3), v(0.55)], [u(0.62), v(0.26)], [width, v(0.55)]], [80, 105, 100]);
  canvas.fillRect(0, v(0.55), width, height - v(0.55), [86, 140, 70]);
  // House: walls, roof, door, windows.
  canvas.fillRect(u(0.62), v(0.4), u(0.3), v(0.22), [214, 196, 170]);
  canvas.polygon([[u(0.6), v(0.41)], [u(0.77), v(0.29)], [u(0.94), v(0.41)]], [150, 60, 50]);
  canvas.fillRect(u(0.74), v(0.5), u(0.05), v(0.12), [90, 60, 40]);
  for (const x of [0.65, 0.84]) canvas.fillRect(u(x), v(0.45), u(0.05), v(0.05), [170, 200, 230]);
  // Tree: trunk and three canopy discs.
  canvas.fillRect(u(0.12), v(0.42), u(0.03), v(0.2), [100, 70, 45]);
  for (const [x, y, r] of [[0.135, 0.36, 0.07], [0.1, 0.41, 0.05], [0.17, 0.41, 0.05]]) canvas.circle(u(x), v(y), u(r), [50, 110, 55]);
  // Person: legs, torso, arms, neck, head, hair, then a sign held in front.
  canvas.fillRect(u(0.41), v(0.7), u(0.06), v(0.26), [40, 50, 90]);
  canvas.fillRect(u(0.5), v(0.7), u(0.06), v(0.26), [40, 50, 90]);
  canvas.polygon([[u(0.38), v(0.42)], [u(0.59), v(0.42)], [u(0.57), v(0.72)], [u(0.4), v(0.72)]], [200, 60, 60]);
  canvas.polygon([[u(0.38), v(0.43)], [u(0.33), v(0.62)], [u(0.36), v(0.63)], [u(0.41), v(0.47)]], [200, 60, 60]);
  canvas.polygon([[u(0.59), v(0.43)], [u(0.64), v(0.62)], [u(0.61), v(0.63)], [u(0.56), v(0.47)]], [200, 60, 60]);
  canvas.fillRect(u(0.46), v(0.37), u(0.05), v(0.06), [224, 180, 150]);
  canvas.circle(u(0.485), v(0.3), u(0.075), [224, 180, 150]);
  canvas.polygon([[u(0.41), v(0.3)], [u(0.43), v(0.22)], [u(0.54), v(0.22)], [u(0.56), v(0.3)], [u(0.52), v(0.25)], [u(0.45), v(0.25)]], [60, 40, 30]);
  for (const x of [0.46, 0.51]) canvas.circle(u(x), v(0.29), Math.max(1, u(0.008)), [30, 30, 30]);
  canvas.fillRect(u(0.34), v(0.55), u(0.3), v(0.1), [245, 245, 235]);
  canvas.text(u(0.36), v(0.575), 'HELLO', Math.max(1, Math.round(width / 160)), [30, 30, 40]);
  return canvas.grain(6, seed).soften();
}
