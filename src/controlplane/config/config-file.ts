import { readFile } from 'node:fs/promises';
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, stringify, type Document } from 'yaml';
import { shapeProblems } from '../schemas.js';
import { configDocument, type ConfigDocument } from './document.js';

/** `${NAME}` is replaced by the variable's value; `$${NAME}` is a literal `${NAME}`. */
const REFERENCE = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Reads a config file (YAML, or JSON, which is YAML too) and fills in `${NAME}` references from
 * `env` — how upstream keys reach the file without being written in it. The result is the
 * document's raw value: the server validates it against the schema and names any bad field.
 */
export async function readConfigFile(file: string, env: NodeJS.ProcessEnv): Promise<unknown> {
  return parseConfigText(await readText(file), file, env);
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`);
  }
}

export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv): unknown {
  return parseConfigSource(text, file, env).value;
}

/** A config file's value and where each of its fields is written. */
export interface ConfigSource {
  value: unknown;
  /** `line 7, column 9` of the field at `path` (or of the nearest enclosing one written in the file). */
  locate(path: readonly (string | number)[]): string;
}

/** Parses YAML (or JSON), naming every syntax error with its line and column at once. */
export function parseConfigSource(text: string, file: string, env: NodeJS.ProcessEnv): ConfigSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    const messages = doc.errors.map((e) => e.message.split('\n')[0]!);
    throw new Error(messages.length === 1 ? `${file}: ${messages[0]}` : `${file}: ${messages.length} problems:\n${messages.map((m) => `  ${m}`).join('\n')}`);
  }
  return { value: substitute(doc.toJS(), '', file, env), locate: (path) => locate(doc, lineCounter, path) };
}

/**
 * Reads a config file and checks its shape against the document schema, naming every problem
 * with its line and column (the server would name the first only by its path).
 */
export async function readConfigDocument(file: string, env: NodeJS.ProcessEnv): Promise<ConfigDocument> {
  const source = parseConfigSource(await readText(file), file, env);
  const shape = shapeProblems(configDocument, source.value);
  if ('data' in shape) return shape.data;
  // One line per unknown field, at the field itself.
  const problems = shape.problems.flatMap((p) => (p.unknownKeys ? p.unknownKeys.map((key) => ({ path: [...p.path, key], message: 'unknown field' })) : [p]));
  const lines = problems.map((p) => {
    const field = p.path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
    return `  ${source.locate(p.path)}: ${field ? `${field}: ` : ''}${p.message}`;
  });
  const count = lines.length === 1 ? '1 problem' : `${lines.length} problems`;
  throw new Error(`${file}: ${count}, nothing was applied:\n${lines.join('\n')}`);
}

function locate(doc: Document, lineCounter: LineCounter, path: readonly (string | number)[]): string {
  // The deepest node the path reaches: a missing field is reported where its parent is written.
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (!isNode(node) || !node.range) continue;
    // A field's key tells where the field is better than its value does.
    let start = node.range[0];
    if (depth > 0 && typeof path[depth - 1] === 'string') {
      const parent = depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === path[depth - 1]);
        if (pair && isScalar(pair.key) && pair.key.range) start = pair.key.range[0];
      }
    }
    const { line, col } = lineCounter.linePos(start);
    return `line ${line}, column ${col}`;
  }
  return 'line 1, column 1';
}

function substitute(value: unknown, path: string, file: string, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (whole: string, escaped: string, name: string) => {
      if (escaped) return whole.slice(1);
      const found = env[name];
      if (found === undefined) throw new Error(`${file}: ${path || 'the document'} refers to \${${name}}, but the environment variable ${name} is not set`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substitute(item, `${path}[${i}]`, file, env));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, path ? `${path}.${k}` : k, file, env)]));
  }
  return value;
}

/** A document as the YAML an admin keeps in git, with a note on what is not in it. */
export function configToYaml(doc: ConfigDocument): string {
  const header = [
    '# Tollgate configuration — apply with: tollgate config apply -f <this file> [--dry-run] [--prune]',
    '# Upstream keys are not exported: add `upstreamApiKey: ${SOME_ENV_VAR}` to a deployment to manage its key here.',
    "# MCP server credentials neither: add `value: ${SOME_ENV_VAR}` to an MCP server's upstreamAuth.",
    '',
  ].join('\n');
  return header + stringify(doc, { lineWidth: 0 });
}
