import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { headActivation, exportLayersModel, type Composer } from '@transplant/composer';
import { isTransplantError, type ModuleManifest } from '@transplant/core';
import { MAX_IMAGE_PIXELS, resizeLinear } from '@transplant/data';
import type { Registry } from '@transplant/registry';
import { esc, jsonScript, page } from './html';
import { HttpError } from './http-error';

/** One link of a network, as the run page offers it. */
export interface RunLink {
  readonly index: number;
  readonly category: string;
  readonly task: string;
}

/** What the page needs beside the model to read its output (written as info.json). */
export interface ExportedInfo {
  readonly task: string;
  readonly activation: 'none' | 'softmax' | 'sigmoid';
  /** The square input side in pixels. */
  readonly size: number;
  readonly channels: number;
}

const FILES: Readonly<Record<string, string>> = {
  'model.json': 'application/json',
  'weights.bin': 'application/octet-stream',
  'info.json': 'application/json',
};

/**
 * Networks exported for the browser: one link of a published network written as a stock
 * TensorFlow.js LayersModel (`exportLayersModel`), once per version and link (published versions
 * never change), into the hub's scratch folder. Interpretable modules' `PartMask` layers load
 * too: the page registers that layer with stock tfjs (`part-mask.js`) before it loads a model.
 */
export class LinkExports {
  /** Finished exports and refusals (413, 422: a published version never changes, nor its answer). */
  private readonly exported = new Map<string, Promise<string>>();
  /** One export at a time: each loads a whole network into memory. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly composer: Composer,
    private readonly registry: Registry,
    private readonly root: string,
    private readonly generatedBy: string,
  ) {}

  linksOf(manifest: ModuleManifest): RunLink[] {
    if (manifest.kind !== 'network') return [];
    const links = (manifest.options['links'] ?? []) as { category: string; task: string }[];
    return links.map((l, index) => ({ index, category: l.category, task: l.task }));
  }

  async file(
    manifest: ModuleManifest,
    index: number,
    name: string,
    limit: number,
  ): Promise<{ type: string; body: Buffer } | undefined> {
    if (!Object.hasOwn(FILES, name) || index >= this.linksOf(manifest).length) return undefined;
    const dir = await this.export(manifest, index, limit);
    return { type: FILES[name]!, body: await readFile(join(dir, name)) };
  }

  /** Whether this link was exported or refused already (HEAD answers only then: it starts nothing). */
  started(manifest: ModuleManifest, index: number): boolean {
    return this.exported.has(`${manifest.name}@${manifest.version}#${index}`);
  }

  private export(manifest: ModuleManifest, index: number, limit: number): Promise<string> {
    const key = `${manifest.name}@${manifest.version}#${index}`;
    let done = this.exported.get(key);
    if (!done) {
      const run = this.queue.then(() => this.write(manifest, index, limit));
      this.queue = run.catch(() => undefined);
      done = run;
      // A refusal stays (it would be the same next time); another failure is tried again.
      done.catch((error: unknown) => {
        if (!(error instanceof HttpError)) this.exported.delete(key);
      });
      this.exported.set(key, done);
    }
    return done;
  }

  /**
   * The link's weights in bytes, from its modules' manifests (the versions the network pins): no
   * weights are fetched or loaded to refuse a network that is too large.
   */
  private async weightsOf(manifest: ModuleManifest, index: number): Promise<number> {
    const links = (manifest.options['links'] ?? []) as { category: string; task: string; adapter?: string }[];
    const link = links[index];
    if (!link) return 0;
    let total = 0;
    for (const name of [link.category, ...(link.adapter ? [link.adapter] : []), link.task]) {
      const dependency = manifest.dependencies.find((d) => d.name === name);
      const version = dependency?.pinned?.version ?? dependency?.range;
      total += (await this.registry.manifest(version ? `${name}@${version}` : name)).manifest.weights.size;
    }
    return total;
  }

  private async write(manifest: ModuleManifest, index: number, limit: number): Promise<string> {
    const ref = `${manifest.name}@${manifest.version}`;
    const weights = await this.weightsOf(manifest, index);
    if (weights > limit)
      throw new HttpError(
        413,
        `link ${index} of ${ref} has ${weights} bytes of weights; the hub exports at most ${limit}`,
      );
    const { network } = await this.composer.load(ref);
    try {
      const link = network.links[index];
      if (!link) throw new HttpError(404, `${ref} has no link ${index}`);
      const dir = join(this.root, `${manifest.name}-${manifest.version}-${index}`);
      await mkdir(dir, { recursive: true });
      try {
        await exportLayersModel(network, { link, directory: dir, generatedBy: this.generatedBy });
      } catch (error) {
        // A network tfjs cannot write as a LayersModel (an imported TF graph): say why, once.
        if (isTransplantError(error, 'E_INVALID_ARGUMENT'))
          throw new HttpError(422, `link ${index} of ${ref} cannot be exported: ${error.detail}`);
        throw error;
      }
      const task = network.module(link.task);
      const info: ExportedInfo = {
        task: task.task ?? 'cls',
        activation: headActivation(task),
        size: network.module(link.category).ports.input.shape[1] ?? 0,
        channels: task.ports.output.channels,
      };
      await writeFile(join(dir, 'info.json'), JSON.stringify(info));
      return dir;
    } finally {
      network.dispose();
    }
  }
}

/** The run page: pick or drop an image, run the link with stock tfjs in the page. */
export function runPage(ref: string, links: readonly RunLink[], location: string): string {
  const [name, version] = ref.split('@') as [string, string];
  const base = `/modules/${encodeURIComponent(name)}/${encodeURIComponent(version)}/model/`;
  const body = `<h1>Run ${esc(ref)} in the browser</h1>
<p>The link is exported as a stock TensorFlow.js LayersModel and run here, in this page, by <code>@tensorflow/tfjs</code> (served by the hub from its node_modules). Nothing is uploaded: the image stays in the browser.</p>
<div id="run" data-base="${esc(base)}">
<label>link <select id="link">${links.map((l) => `<option value="${l.index}">${esc(l.category)} → ${esc(l.task)}</option>`).join('')}</select></label>
<div id="drop">Drop an image here, or <input type="file" id="image" accept="image/png,image/jpeg"></div>
<p>tfjs back end: <strong id="backend">loading…</strong></p>
<p id="status"></p>
<div id="run-view"><canvas id="input" width="64" height="64"></canvas><canvas id="output" width="256" height="256"></canvas></div>
<p id="result"></p>
</div>
${jsonScript('run-data', { ref, links })}`;
  return page({
    title: `run ${ref}`,
    location,
    body,
    scripts: ['tf.min.js', 'part-mask.js', 'resize-linear.js', 'run.js'],
  });
}

/** `resizeLinear` as the page loads it: the very function Node's predictImage resizes with. */
export const RESIZE_JS = `${resizeLinear.toString()}\n`;

/**
 * The page's script: the image decoded by the browser (upright by its EXIF orientation, in sRGB
 * by its colour profile, as Node's decodeImage does), resized to the network's input
 * with `resizeLinear` and read as [0, 1] floats, exactly as Node's predictImage does, run by `model.predict`; cls shows output 0's score,
 * seg the mask (logit > 0) tinted over the image. `#run` carries the result for tests.
 */
export const RUN_JS = `
(function () {
  var MAX_PIXELS = ${MAX_IMAGE_PIXELS};
  var root = document.getElementById('run');
  var base = root.dataset.base;
  var select = document.getElementById('link');
  var status = document.getElementById('status');
  var result = document.getElementById('result');
  var cache = {};
  function load(i) {
    if (!cache[i]) {
      cache[i] = fetch(base + i + '/info.json').then(function (r) {
        if (!r.ok) return r.text().then(function (t) {
          // The hub's error page carries its one-line reason in #error.
          var found = new DOMParser().parseFromString(t, 'text/html').getElementById('error');
          throw new Error('export failed (' + r.status + ')' + (found ? ': ' + found.textContent : ''));
        });
        return r.json();
      }).then(function (info) {
        return tf.loadLayersModel(base + i + '/model.json').then(function (model) { return { info: info, model: model }; });
      });
      cache[i].catch(function () { delete cache[i]; });
    }
    return cache[i];
  }
  var sigmoid = function (v) { return 1 / (1 + Math.exp(-v)); };
  function run(file) {
    status.textContent = 'running…';
    root.dataset.state = 'running';
    var index = Number(select.value);
    return Promise.all([load(index), createImageBitmap(file, { imageOrientation: 'from-image', premultiplyAlpha: 'none' })]).then(function (loaded) {
      var info = loaded[0].info, model = loaded[0].model, bitmap = loaded[1];
      var size = info.size;
      var input = document.getElementById('input');
      input.width = size; input.height = size;
      // Resized as Node's predictImage resizes (the same resizeLinear, served as resize-linear.js),
      // from the image's own pixels: drawn at its natural size, so the canvas only copies them.
      if (bitmap.width * bitmap.height > MAX_PIXELS)
        throw new Error(bitmap.width + ' × ' + bitmap.height + ' pixels; at most 8192 × 8192, scale the image down first');
      var full = document.createElement('canvas');
      full.width = bitmap.width; full.height = bitmap.height;
      var fctx = full.getContext('2d');
      fctx.drawImage(bitmap, 0, 0);
      var rgb = resizeLinear(fctx.getImageData(0, 0, bitmap.width, bitmap.height).data, bitmap.width, bitmap.height, 4, size);
      var ctx = input.getContext('2d');
      var pixels = ctx.createImageData(size, size);
      for (var p = 0; p < size * size; p++) {
        pixels.data[p * 4] = rgb[p * 3]; pixels.data[p * 4 + 1] = rgb[p * 3 + 1]; pixels.data[p * 4 + 2] = rgb[p * 3 + 2];
        pixels.data[p * 4 + 3] = 255;
      }
      ctx.putImageData(pixels, 0, 0);
      window.hubLastInput = Array.prototype.slice.call(rgb);
      var output = tf.tidy(function () {
        return model.predict(tf.tensor4d(Float32Array.from(rgb), [1, size, size, 3]).div(255));
      });
      return output.data().then(function (data) {
        output.dispose();
        var values = Array.prototype.slice.call(data);
        window.hubLastOutput = values;
        var out = { task: info.task, backend: tf.getBackend(), size: size };
        if (info.task === 'seg') {
          var c = info.channels, n = size * size, fg = 0;
          var canvas = document.getElementById('output');
          var scale = Math.max(1, Math.floor(256 / size));
          canvas.width = size * scale; canvas.height = size * scale;
          var octx = canvas.getContext('2d');
          var img = octx.createImageData(size, size);
          for (var i = 0; i < n; i++) {
            var on = false;
            for (var k = 0; k < c; k++) if (values[i * c + k] > 0) on = true;
            if (on) fg++;
            for (var ch = 0; ch < 3; ch++) {
              var v = pixels.data[i * 4 + ch];
              img.data[i * 4 + ch] = on ? Math.round(0.45 * v + 0.55 * [255, 0, 0][ch]) : v;
            }
            img.data[i * 4 + 3] = 255;
          }
          var small = document.createElement('canvas');
          small.width = size; small.height = size;
          small.getContext('2d').putImageData(img, 0, 0);
          octx.imageSmoothingEnabled = false;
          octx.drawImage(small, 0, 0, size * scale, size * scale);
          out.foreground = fg / n;
          result.textContent = 'mask: ' + (100 * out.foreground).toFixed(2) + ' % of the pixels (red)';
        } else {
          var p = info.activation === 'none' ? (values.length === 1 ? sigmoid(values[0]) : null) : values[0];
          if (p === null) {
            var top = Math.max.apply(null, values);
            var e = values.map(function (v) { return Math.exp(v - top); });
            var s = e.reduce(function (a, b) { return a + b; }, 0);
            p = e[0] / s;
          }
          out.score = p;
          out.logit = info.activation === 'none' && values.length === 1 ? values[0] : Math.log(p) - Math.log1p(-p);
          result.textContent = 'score ' + p.toFixed(4) + ' (logit ' + out.logit.toFixed(4) + ')';
        }
        root.dataset.result = JSON.stringify(out);
        root.dataset.state = 'done';
        status.textContent = '';
      });
    }).catch(function (error) {
      root.dataset.state = 'failed';
      status.textContent = 'failed: ' + error.message;
    });
  }
  document.getElementById('image').addEventListener('change', function (e) {
    if (e.target.files[0]) run(e.target.files[0]);
  });
  var drop = document.getElementById('drop');
  drop.addEventListener('dragover', function (e) { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', function () { drop.classList.remove('over'); });
  drop.addEventListener('drop', function (e) {
    e.preventDefault(); drop.classList.remove('over');
    if (e.dataTransfer.files[0]) run(e.dataTransfer.files[0]);
  });
  tf.ready().then(function () { document.getElementById('backend').textContent = tf.getBackend(); });
})();
`;
