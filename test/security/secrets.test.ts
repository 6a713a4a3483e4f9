import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SecretBox, loadSecretKey, parseSecretKey } from '../../src/security/secret-box.js';

const KEY = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
const box = new SecretBox(KEY);

/** Replaces one character of a base64url segment with a different one. */
function flip(segment: string, at = 0): string {
  const c = segment[at]!;
  return segment.slice(0, at) + (c === 'A' ? 'B' : 'A') + segment.slice(at + 1);
}

describe('SecretBox', () => {
  it('seals to v1.<iv>.<tag>.<ciphertext> and opens back', () => {
    const plain = 'sk-proj-abcdef0123456789';
    const sealed = box.seal(plain);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(plain);
    const [, iv, tag, ciphertext] = sealed.split('.');
    expect(Buffer.from(iv!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag!, 'base64url')).toHaveLength(16);
    expect(Buffer.from(ciphertext!, 'base64url')).toHaveLength(Buffer.byteLength(plain));
    expect(box.open(sealed)).toBe(plain);
  });

  it.each([
    ['empty', ''],
    ['unicode', 'clé-🔑-密钥'],
    ['long', 'x'.repeat(10_000)],
    ['dots', 'a.b.c.d'],
  ])('round-trips a %s secret', (_what, plain) => {
    expect(box.open(box.seal(plain))).toBe(plain);
  });

  it('uses a fresh IV each time: the same secret seals differently', () => {
    const a = box.seal('same');
    const b = box.seal('same');
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(box.open(a)).toBe('same');
    expect(box.open(b)).toBe('same');
  });

  it('opens with another box on the same key', () => {
    expect(new SecretBox(Buffer.from(KEY)).open(box.seal('shared'))).toBe('shared');
  });

  it.each([
    ['iv', 1],
    ['tag', 2],
    ['ciphertext', 3],
  ])('detects a tampered %s', (_what, index) => {
    const parts = box.seal('sk-tamper-me-please').split('.');
    parts[index] = flip(parts[index]!);
    expect(() => box.open(parts.join('.'))).toThrow(/cannot decrypt/);
  });

  it('detects a truncated ciphertext and a swapped ciphertext', () => {
    const [v, iv, tag, ct] = box.seal('sk-truncate-me').split('.');
    expect(() => box.open([v, iv, tag, ct!.slice(0, -2)].join('.'))).toThrow(/cannot decrypt/);
    const other = box.seal('sk-other-secret').split('.');
    expect(() => box.open([v, iv, tag, other[3]].join('.'))).toThrow(/cannot decrypt/);
  });

  it('refuses a wrong key with a message naming the key setting', () => {
    const sealed = box.seal('sk-secret');
    const other = new SecretBox(randomBytes(32));
    expect(() => other.open(sealed)).toThrow(
      'cannot decrypt a stored secret: TOLLGATE_SECRET_KEY (or data/secret.key) is not the key it was sealed with',
    );
  });

  it.each([
    ['an unknown version', (s: string) => s.replace(/^v1\./, 'v2.')],
    ['missing parts', (s: string) => s.split('.').slice(0, 3).join('.')],
    ['no dots', () => 'plaintext-key'],
    ['empty', () => ''],
  ])('refuses %s as an unknown format', (_what, mangle) => {
    expect(() => box.open(mangle(box.seal('x')))).toThrow('sealed secret has an unknown format');
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow('secret key must be 32 bytes (AES-256)');
    expect(() => new SecretBox(randomBytes(33))).toThrow('secret key must be 32 bytes (AES-256)');
    expect(() => new SecretBox(Buffer.alloc(0))).toThrow('secret key must be 32 bytes (AES-256)');
  });
});

describe('parseSecretKey', () => {
  const BAD_LENGTH = /^TOLLGATE_SECRET_KEY must be 32 bytes, as 64 hex characters or base64/;

  it('parses 64 hex characters, either case, with surrounding whitespace', () => {
    const hex = KEY.toString('hex');
    expect(parseSecretKey(hex).equals(KEY)).toBe(true);
    expect(parseSecretKey(hex.toUpperCase()).equals(KEY)).toBe(true);
    expect(parseSecretKey(`  ${hex}\n`).equals(KEY)).toBe(true);
  });

  it('parses base64, padded or not, and base64url', () => {
    // bytes chosen so the encodings hold '+', '/', '-' and '_'
    const key = Buffer.from('fbff'.repeat(16), 'hex');
    const b64 = key.toString('base64');
    expect(b64).toMatch(/[+/]/);
    expect(b64.endsWith('=')).toBe(true);
    expect(parseSecretKey(b64).equals(key)).toBe(true);
    expect(parseSecretKey(b64.replace(/=+$/, '')).equals(key)).toBe(true);
    const b64url = key.toString('base64url');
    expect(b64url).toMatch(/[-_]/);
    expect(parseSecretKey(b64url).equals(key)).toBe(true);
    expect(parseSecretKey(`${b64}\n`).equals(key)).toBe(true);
  });

  it('answers a 32-byte Buffer that SecretBox accepts', () => {
    const parsed = parseSecretKey(randomBytes(32).toString('base64'));
    expect(parsed).toHaveLength(32);
    expect(() => new SecretBox(parsed)).not.toThrow();
  });

  it.each([
    ['too short hex', '00'.repeat(31)],
    ['too long hex', '00'.repeat(33)],
    ['16-byte base64', randomBytes(16).toString('base64')],
    ['48-byte base64', randomBytes(48).toString('base64')],
    ['empty', ''],
    ['whitespace only', '   '],
    ['a passphrase', 'correct horse battery staple'],
  ])('refuses %s with a message saying what is expected', (_what, value) => {
    expect(() => parseSecretKey(value)).toThrow(BAD_LENGTH);
  });
});

describe('loadSecretKey', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-secret-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('prefers TOLLGATE_SECRET_KEY and writes no file', () => {
    const dir = tempDir();
    const key = loadSecretKey(KEY.toString('hex'), dir);
    expect(key.equals(KEY)).toBe(true);
    expect(existsSync(path.join(dir, 'secret.key'))).toBe(false);
  });

  it('refuses a bad TOLLGATE_SECRET_KEY even with a data directory', () => {
    expect(() => loadSecretKey('too-short', tempDir())).toThrow(/TOLLGATE_SECRET_KEY must be 32 bytes/);
  });

  it('requires the key when there is no data directory', () => {
    expect(() => loadSecretKey(undefined, undefined)).toThrow('TOLLGATE_SECRET_KEY is required when no data directory is used');
    expect(() => loadSecretKey('', undefined)).toThrow('TOLLGATE_SECRET_KEY is required when no data directory is used');
  });

  it('generates <dataDir>/secret.key once, mode 0600, and reuses it', () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const file = path.join(dataDir, 'secret.key');
    const first = loadSecretKey(undefined, dataDir);
    expect(first).toHaveLength(32);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^[0-9a-f]{64}\n$/);
    expect(Buffer.from(text.trim(), 'hex').equals(first)).toBe(true);

    const second = loadSecretKey(undefined, dataDir);
    expect(second.equals(first)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // a secret sealed with the first load opens with the second
    expect(new SecretBox(second).open(new SecretBox(first).seal('persisted'))).toBe('persisted');
  });

  it('two data directories get different keys', () => {
    const a = loadSecretKey(undefined, tempDir());
    const b = loadSecretKey(undefined, tempDir());
    expect(a.equals(b)).toBe(false);
  });

  it('reads an existing key file (hex or base64) and refuses a corrupt one', () => {
    const hexDir = tempDir();
    writeFileSync(path.join(hexDir, 'secret.key'), `${KEY.toString('hex')}\n`, { mode: 0o600 });
    expect(loadSecretKey(undefined, hexDir).equals(KEY)).toBe(true);

    const b64Dir = tempDir();
    writeFileSync(path.join(b64Dir, 'secret.key'), KEY.toString('base64'), { mode: 0o600 });
    expect(loadSecretKey(undefined, b64Dir).equals(KEY)).toBe(true);

    const badDir = tempDir();
    writeFileSync(path.join(badDir, 'secret.key'), 'garbage\n', { mode: 0o600 });
    expect(() => loadSecretKey(undefined, badDir)).toThrow(/must be 32 bytes/);
    // the corrupt file is left alone, not silently replaced (that would orphan every sealed secret)
    expect(readFileSync(path.join(badDir, 'secret.key'), 'utf8')).toBe('garbage\n');
  });
});
