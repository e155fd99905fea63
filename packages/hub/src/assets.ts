import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

/**
 * The hub's static assets, by the one name each is served under (`/assets/<name>`): its own
 * stylesheet and scripts, and the libraries the pages use, read from node_modules at run time
 * (nothing is fetched from a CDN: the hub works offline). A name not in this table is a 404;
 * no request path ever reaches the file system.
 */
const require = createRequire(import.meta.url);

const CSS = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d8dde6; --accent: #2c5fb3; --warn: #a3360f; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--ink); background: #f7f8fa; }
header { display: flex; gap: 1.5em; align-items: center; padding: .6em 1.2em; background: #1d2330; color: #fff; }
header a { color: #fff; text-decoration: none; }
header .brand { font-weight: 700; }
header nav a { margin-right: 1em; opacity: .85; }
header .registry { margin-left: auto; font-family: ui-monospace, monospace; font-size: 12px; opacity: .7; }
main { padding: 1em 1.5em 3em; max-width: 1200px; }
h1 .version { color: var(--muted); font-weight: 400; }
a { color: var(--accent); }
table { border-collapse: collapse; background: #fff; margin: .5em 0; }
th, td { border: 1px solid var(--line); padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #eef1f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.current td { background: #fffbe6; }
code { font-family: ui-monospace, monospace; font-size: 12px; word-break: break-all; }
.tag { font-size: 11px; padding: 0 .4em; border-radius: 3px; background: #e4ebf7; color: var(--accent); text-decoration: none; }
.warn { color: var(--warn); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; margin: .5em 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
pre { background: #fff; border: 1px solid var(--line); padding: .6em; overflow: auto; max-height: 24em; }
.search { display: flex; gap: .5em; margin: .5em 0; }
.search input { flex: 1; max-width: 30em; padding: .3em .5em; }
.button { display: inline-block; padding: .3em .8em; border-radius: 4px; background: var(--accent); color: #fff; text-decoration: none; }
#lineage { width: 100%; height: 640px; background: #fff; border: 1px solid var(--line); }
.legend span { margin-right: 1em; padding: 0 .5em; border-radius: 3px; color: #fff; font-size: 12px; }
.k-network { background: #2c5fb3; } .k-generic { background: #6b3fa0; } .k-via { background: #b3572c; }
.k-category { background: #2f8a4c; } .k-task { background: #8a7a2f; } .k-adapter { background: #6a7282; }
table.matrix td.link { min-width: 14em; } table.matrix td.empty { color: var(--muted); text-align: center; }
table.matrix .guard code { font-size: 10px; } table.matrix .source { font-weight: 400; font-size: 12px; color: var(--muted); }
.error { color: var(--warn); }
img.attachment, #run-view canvas { max-width: 100%; image-rendering: pixelated; border: 1px solid var(--line); }
.report { background: #fff; border: 1px solid var(--line); padding: .5em 1.2em; }
.report table { border-collapse: collapse; } .report th, .report td { border: 1px solid var(--line); padding: .2em .6em; }
.report img.attachment { image-rendering: auto; } .missing-picture { color: var(--muted); }
#drop { border: 2px dashed var(--line); padding: 1.5em; background: #fff; margin: .5em 0; }
#drop.over { border-color: var(--accent); }
#run-view { display: flex; gap: 1em; align-items: flex-start; }
#run-view canvas { width: 256px; height: 256px; }
`;

const LIST_JS = `
(function () {
  var input = document.getElementById('q');
  var kind = document.getElementById('kind');
  var rows = Array.prototype.slice.call(document.querySelectorAll('#modules tbody tr'));
  var count = document.getElementById('count');
  function filter() {
    var q = input.value.trim().toLowerCase();
    var k = kind.value;
    var shown = 0;
    rows.forEach(function (row) {
      var ok = (q === '' || row.dataset.search.indexOf(q) >= 0) && (k === '' || row.children[1].textContent === k);
      row.hidden = !ok;
      if (ok) shown++;
    });
    count.textContent = shown + ' of ' + rows.length + ' shown';
  }
  input.addEventListener('input', filter);
  kind.addEventListener('change', filter);
})();
`;

const LINEAGE_JS = `
(function () {
  var data = JSON.parse(document.getElementById('lineage-data').textContent);
  cytoscape.use(cytoscapeDagre);
  var colour = { network: '#2c5fb3', category: '#2f8a4c', task: '#8a7a2f', adapter: '#6a7282' };
  var cy = cytoscape({
    container: document.getElementById('lineage'),
    elements: { nodes: data.nodes, edges: data.edges },
    wheelSensitivity: 0.3,
    maxZoom: 1.5,
    style: [
      { selector: 'node', style: { label: 'data(label)', 'font-size': 11, 'text-valign': 'bottom', 'text-margin-y': 4,
        'text-background-color': '#fff', 'text-background-opacity': 0.85, 'text-background-padding': 2,
        'background-color': function (n) { return colour[n.data('kind')] || '#999'; }, width: 18, height: 18 } },
      { selector: 'node[?generic]', style: { 'background-color': '#6b3fa0', shape: 'round-rectangle', width: 28 } },
      { selector: 'node[?via]', style: { 'background-color': '#b3572c', shape: 'diamond', width: 24, height: 24 } },
      { selector: 'edge', style: { width: 1.2, 'line-color': '#aab2c0', 'target-arrow-color': '#aab2c0',
        'target-arrow-shape': 'triangle', 'curve-style': 'bezier', label: 'data(label)', 'font-size': 8, color: '#5b6475',
        'text-background-color': '#fff', 'text-background-opacity': 0.85, 'text-rotation': 'autorotate' } },
      { selector: '.faded', style: { opacity: 0.15 } }
    ],
    layout: { name: 'dagre', rankDir: 'TB', nodeSep: 150, rankSep: 120, fit: true, padding: 30 }
  });
  cy.on('tap', 'node', function (e) { window.location.href = '/modules/' + encodeURIComponent(e.target.id()); });
  cy.on('mouseover', 'node', function (e) {
    var near = e.target.closedNeighborhood().union(e.target.successors()).union(e.target.predecessors());
    cy.elements().not(near).addClass('faded');
  });
  cy.on('mouseout', 'node', function () { cy.elements().removeClass('faded'); });
  window.hubLineage = cy;
  document.getElementById('lineage').dataset.ready = 'true';
})();
`;

/**
 * The interpretable conv layer's part mask (`PartMask` of @transplant/core, class name
 * `TransplantPartMask`) for stock tfjs in the page, inference only: the same locations (argmax or
 * rounded centroid per channel), the same L1 template 1 − β·‖p − μ‖₁ floored at −1, and
 * relu(x · mask). Registered before a model is loaded, so that `tf.loadLayersModel` knows it.
 */
const PART_MASK_JS = `
(function () {
  function coordinates(n) {
    var a = new Float32Array(n);
    for (var i = 0; i < n; i++) a[i] = n === 1 ? 0 : -1 + (2 * i) / (n - 1);
    return a;
  }
  function locations(x, mode) {
    var b = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3];
    if (mode === 'argmax') {
      var flat = tf.cast(tf.argMax(tf.reshape(x, [b, h * w, c]), 1), 'float32');
      var rows = tf.floor(tf.div(flat, w));
      var cols = tf.sub(flat, tf.mul(rows, w));
      return { rows: tf.reshape(rows, [b, 1, 1, c]), cols: tf.reshape(cols, [b, 1, 1, c]) };
    }
    var mass = tf.maximum(tf.sum(x, [1, 2], true), 1e-9);
    var rowIndex = tf.reshape(tf.range(0, h, 1, 'float32'), [1, h, 1, 1]);
    var colIndex = tf.reshape(tf.range(0, w, 1, 'float32'), [1, 1, w, 1]);
    return {
      rows: tf.clipByValue(tf.round(tf.div(tf.sum(tf.mul(x, rowIndex), [1, 2], true), mass)), 0, h - 1),
      cols: tf.clipByValue(tf.round(tf.div(tf.sum(tf.mul(x, colIndex), [1, 2], true), mass)), 0, w - 1)
    };
  }
  function toUnit(cells, n) { return n === 1 ? tf.zerosLike(cells) : tf.sub(tf.mul(cells, 2 / (n - 1)), 1); }
  class PartMask extends tf.layers.Layer {
    constructor(config) { super(config); this.mode = config.mode; }
    build(inputShape) {
      var shape = Array.isArray(inputShape[0]) ? inputShape[0] : inputShape;
      this.beta = this.addWeight('beta', [shape[shape.length - 1]], 'float32', tf.initializers.constant({ value: 2 }), undefined, false);
      this.built = true;
    }
    computeOutputShape(inputShape) { return inputShape; }
    call(inputs) {
      var mode = this.mode, beta = this.beta.read();
      return tf.tidy(function () {
        var x = Array.isArray(inputs) ? inputs[0] : inputs;
        var h = x.shape[1], w = x.shape[2], c = x.shape[3];
        var at = locations(x, mode);
        var du = tf.abs(tf.sub(tf.tensor4d(coordinates(h), [1, h, 1, 1]), toUnit(at.rows, h)));
        var dv = tf.abs(tf.sub(tf.tensor4d(coordinates(w), [1, 1, w, 1]), toUnit(at.cols, w)));
        var mask = tf.maximum(tf.sub(1, tf.mul(tf.add(du, dv), tf.reshape(beta, [1, 1, 1, c]))), -1);
        return tf.relu(tf.mul(x, mask));
      });
    }
    getConfig() { var config = super.getConfig(); config.mode = this.mode; return config; }
  }
  PartMask.className = 'TransplantPartMask';
  tf.serialization.registerClass(PartMask);
})();
`;

interface Asset {
  readonly type: string;
  /** The text, or a file to read (once, then kept). */
  readonly text?: string;
  readonly file?: () => string;
}

const ASSETS: Readonly<Record<string, Asset>> = {
  'hub.css': { type: 'text/css; charset=utf-8', text: CSS },
  'list.js': { type: 'text/javascript; charset=utf-8', text: LIST_JS },
  'lineage.js': { type: 'text/javascript; charset=utf-8', text: LINEAGE_JS },
  'part-mask.js': { type: 'text/javascript; charset=utf-8', text: PART_MASK_JS },
  'cytoscape.min.js': {
    type: 'text/javascript; charset=utf-8',
    file: () => require.resolve('cytoscape/dist/cytoscape.min.js'),
  },
  // The UMD build (the package exports no minified path); it bundles dagre.
  'cytoscape-dagre.min.js': {
    type: 'text/javascript; charset=utf-8',
    file: () => require.resolve('cytoscape-dagre'),
  },
  'tf.min.js': {
    type: 'text/javascript; charset=utf-8',
    file: () => require.resolve('@tensorflow/tfjs/dist/tf.min.js'),
  },
};

const loaded = new Map<string, Buffer>();

export function isAsset(name: string): boolean {
  return Object.hasOwn(ASSETS, name);
}

/** The asset's bytes and content type; undefined for a name not in the table. */
export async function readAsset(
  name: string,
  extra: Readonly<Record<string, string>> = {},
): Promise<{ type: string; body: Buffer } | undefined> {
  if (Object.hasOwn(extra, name))
    return { type: 'text/javascript; charset=utf-8', body: Buffer.from(extra[name]!) };
  if (!isAsset(name)) return undefined;
  const asset = ASSETS[name]!;
  let body = loaded.get(name);
  if (!body) {
    body = asset.text !== undefined ? Buffer.from(asset.text) : await readFile(asset.file!());
    loaded.set(name, body);
  }
  return { type: asset.type, body };
}
