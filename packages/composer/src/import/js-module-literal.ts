import { parse, type Node } from 'acorn';
import { TransplantError } from '@transplant/core';

/**
 * Some packages ship a TensorFlow.js model as JavaScript modules instead of model.json and .bin
 * files: the model JSON as an object literal, each weight shard as a base64 string literal, in
 * a bundler's wrapper (`…exports = {modelTopology: …}` / `…exports = "YkKN…"`). This reads the
 * exported literal without running the package's code: the file is parsed (acorn) and only
 * literal syntax — objects, arrays, strings, numbers, booleans, null, `!0` / `!1` and `-n` — is
 * turned into a value. Anything else (a call, an identifier, a spread) is refused.
 */

function refused(source: string, detail: string): TransplantError {
  return new TransplantError('E_IMPORT_MODEL', `${source}: ${detail}`, {
    module: source,
    operation: 'readJsModule',
  });
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface AstNode {
  type: string;
  [key: string]: unknown;
}

const isNode = (v: unknown): v is AstNode =>
  typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';

/** Deepest literal nesting accepted: model JSON nests about 10 deep. */
const MAX_DEPTH = 64;

function literalValue(node: AstNode, source: string, depth = 0): Json {
  if (depth > MAX_DEPTH) throw refused(source, `the exported literal nests deeper than ${MAX_DEPTH}`);
  switch (node.type) {
    case 'Literal': {
      const value = node['value'];
      if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return value as Json;
      break;
    }
    case 'UnaryExpression': {
      const arg = node['argument'] as AstNode;
      const value = arg.type === 'Literal' ? arg['value'] : undefined;
      if (typeof value === 'number' && node['operator'] === '-') return -value;
      if (typeof value === 'number' && node['operator'] === '!') return !value;
      break;
    }
    case 'ArrayExpression':
      return (node['elements'] as (AstNode | null)[]).map((e) => {
        if (!e || e.type === 'SpreadElement')
          throw refused(source, 'the exported literal has a hole or a spread');
        return literalValue(e, source, depth + 1);
      });
    case 'ObjectExpression': {
      const out: { [key: string]: Json } = {};
      for (const p of node['properties'] as AstNode[]) {
        const key = p['key'] as AstNode | undefined;
        if (p.type !== 'Property' || p['computed'] || p['kind'] !== 'init' || p['method'] || !key)
          throw refused(source, 'the exported literal has a property that is not `key: value`');
        const name =
          key.type === 'Identifier'
            ? (key['name'] as string)
            : key.type === 'Literal'
              ? String(key['value'])
              : '';
        if (name === '' || name === '__proto__')
          throw refused(source, `the exported literal has a property named ${JSON.stringify(name)}`);
        Object.defineProperty(out, name, {
          value: literalValue(p['value'] as AstNode, source, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
  }
  throw refused(source, `the exported value holds a ${node.type}, not a literal`);
}

/** Every `….exports = <object or string literal>` in the program (the bundle's payloads). */
function exportedLiterals(program: AstNode): AstNode[] {
  const found: AstNode[] = [];
  const stack: unknown[] = [program];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    if (!isNode(node)) continue;
    if (node.type === 'AssignmentExpression' && node['operator'] === '=') {
      const left = node['left'] as AstNode;
      const right = node['right'] as AstNode;
      const property = left.type === 'MemberExpression' ? (left['property'] as AstNode) : undefined;
      const named = property && (property['name'] === 'exports' || property['value'] === 'exports');
      if (
        named &&
        (right.type === 'ObjectExpression' ||
          (right.type === 'Literal' && typeof right['value'] === 'string'))
      ) {
        found.push(right);
        continue;
      }
    }
    // Literal payloads are leaves for this search: do not walk into big arrays of numbers.
    if (node.type === 'Literal') continue;
    for (const [key, value] of Object.entries(node))
      if (key !== 'type' && key !== 'start' && key !== 'end' && typeof value === 'object') stack.push(value);
  }
  return found;
}

/**
 * The one literal a JavaScript module exports (an object as JSON-like data, or a string),
 * read from its source text without executing it.
 */
export function readJsModuleLiteral(text: string, source: string): Json {
  let program: Node;
  try {
    program = parse(text, { ecmaVersion: 'latest', sourceType: 'script' });
  } catch (cause) {
    throw new TransplantError('E_IMPORT_MODEL', `${source} is not JavaScript: ${(cause as Error).message}`, {
      module: source,
      operation: 'readJsModule',
      cause,
    });
  }
  const literals = exportedLiterals(program as unknown as AstNode);
  if (literals.length !== 1)
    throw refused(
      source,
      `exports ${literals.length} literal values; a wrapped model file exports exactly one (the model JSON or a base64 weight shard)`,
    );
  return literalValue(literals[0]!, source);
}
