import { readFile } from 'node:fs/promises';
import { parseDocument, stringify } from 'yaml';
import type { ConfigDocument } from './document.js';

/** `${NAME}` is replaced by the variable's value; `$${NAME}` is a literal `${NAME}`. */
const REFERENCE = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Reads a config file (YAML, or JSON, which is YAML too) and fills in `${NAME}` references from
 * `env` — how upstream keys reach the file without being written in it. The result is the
 * document's raw value: the server validates it against the schema and names any bad field.
 */
export async function readConfigFile(file: string, env: NodeJS.ProcessEnv): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`);
  }
  return parseConfigText(text, file, env);
}

export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
  return substitute(doc.toJS(), '', file, env);
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
