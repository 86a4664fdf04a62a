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
