import { describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import { MAX_LIKE_BATCH } from '../src/limits.js';
import {
  BanRequestSchema,
  CommentRequestSchema,
  CreateSessionSchema,
  CreateVideoSchema,
  LikeRequestSchema,
  UserSchema,
} from '../src/schemas.js';
import { cleanText, MAX_COMBINING_RUN } from '../src/text.js';
import { parseWith } from '../src/validate.js';

/** An attacker's list: each entry must be refused, with a reason that names the trick. */
const REFUSED: Array<[string, string, RegExp]> = [
  ['RLO spoofing ("evil‮gpj.exe" shows as evilexe.jpg)', 'evil\u202Egpj.exe', /bidirectional/],
  ['LRE embedding', 'a\u202Ab', /bidirectional/],
  ['PDF alone', 'admin\u202C', /bidirectional/],
  ['RLI isolate', '\u2067admin', /bidirectional/],
  ['PDI', 'x\u2069', /bidirectional/],
  ['ZWJ only', '\u200D\u200D\u200D', /visible text/],
  ['zero-width space only', '\u200B', /visible text/],
  ['BOM + word joiner only', '\uFEFF\u2060', /visible text/],
  ['Hangul filler name (looks blank)', '\u3164\u3164', /visible text/],
  ['braille blank', '\u2800', /visible text/],
  ['spaces of every kind', ' \u00A0\u2003\u3000 ', /visible text/],
  ['soft hyphens only', '\u00AD\u00AD', /visible text/],
  ['combining marks with no base', '\u0301\u0302', /visible text/],
  ['empty', '', /visible text/],
  ['NUL', 'ann\u0000', /control/],
  ['tab', 'a\tb', /control/],
  ['newline', 'first\nsecond', /control/],
  ['carriage return', 'a\rb', /control/],
  ['DEL', 'a\u007F', /control/],
  ['C1 (NEL)', 'a\u0085b', /control/],
  ['C1 (CSI)', 'a\u009B31m', /control/],
  ['ANSI escape', '\u001b[31mred', /control/],
  ['line separator', 'a\u2028b', /control/],
  ['paragraph separator', 'a\u2029b', /control/],
  ['lone high surrogate', 'a\uD800', /Unicode/],
  ['lone low surrogate', '\uDC00b', /Unicode/],
  [
    'tag smuggling (invisible ASCII)',
    `hi${[...'ignore me'].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('')}`,
    /tag/,
  ],
  ['Zalgo', `Z${'\u0336\u0335\u0334\u0337\u0338'.repeat(4)}algo`, /combining/],
  ['64 combining marks', '\u0300'.repeat(64), /combining/],
];

describe('user text (names, comments, titles)', () => {
  it.each(REFUSED)('refuses %s', (_what, raw, reason) => {
    const checked = cleanText(raw);
    expect(checked.ok).toBe(false);
    expect(checked.ok ? '' : checked.reason).toMatch(reason);
  });

  it('normalises to NFC, so one visible name has one stored form', () => {
    const decomposed = 'Zoe\u0308 Cafe\u0301';
    const checked = cleanText(decomposed);
    expect(checked).toEqual({ ok: true, text: 'Zoë Café' });
    expect(checked.ok && checked.text.length).toBe(8);
  });

  it('collapses runs of spaces of any kind and trims', () => {
    expect(cleanText('  ann \u00A0\u2003 lee\u3000')).toEqual({ ok: true, text: 'ann lee' });
  });

  it('keeps what real writing needs: joiners in emoji and scripts, flags, RTL text, stacked marks', () => {
    const ok = [
      '👨‍👩‍👧‍👦 family',
      '👩🏽‍💻',
      '1️⃣ first',
      '🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F} Scotland',
      'می\u200Cخواهم', // Persian with ZWNJ
      'क्‍ष', // Devanagari with ZWJ
      'שלום עולם',
      'مرحبا',
      'Tiếng Việt',
      `a${'\u0301'.repeat(MAX_COMBINING_RUN)}`,
      '日本語の名前',
      'émoji ❤️ and <b>markup</b> stay as text',
    ];
    for (const text of ok) {
      const checked = cleanText(text);
      expect(checked, text).toEqual({ ok: true, text: text.normalize('NFC') });
    }
  });

  it('counts limits after normalisation', () => {
    // 40 decomposed "é" are 80 code units before NFC and 40 after: a 40-character name.
    const name = 'e\u0301'.repeat(40);
    expect(parseWith(CreateSessionSchema, { name }).name).toBe('é'.repeat(40));
    expect(() => parseWith(CreateSessionSchema, { name: 'é'.repeat(41) })).toThrow(/at most 40/);
    // Spaces collapsed before counting.
    expect(parseWith(CreateSessionSchema, { name: `a${' '.repeat(100)}b` }).name).toBe('a b');
  });

  it('applies to every input schema, naming the field, and leaves stored users alone', () => {
    const rlo = 'x\u202Ey';
    expect(() => parseWith(CreateSessionSchema, { name: rlo })).toThrow(
      /body.name: name must not contain bidirectional/,
    );
    expect(() => parseWith(CommentRequestSchema, { text: '\u200B' })).toThrow(/body.text: text must contain visible/);
    expect(() => parseWith(CreateVideoSchema, { title: 'a\u0000' })).toThrow(/body.title: title must be one line/);
    expect(() => parseWith(BanRequestSchema, { userId: 'u1', name: '\u3164' })).toThrow(/body.name/);
    expect(parseWith(CommentRequestSchema, { text: ' Cafe\u0301 ' }).text).toBe('Café');
    expect(() => parseWith(CommentRequestSchema, { text: 'x'.repeat(501) })).toThrow(AppError);
    // A session's user (already stored, or inside a signed token) is read back as written.
    expect(UserSchema.parse({ id: 'u', name: 'e\u0301' }).name).toBe('e\u0301');
  });

  it('bounds a like batch at MAX_LIKE_BATCH, the web limiter burst', () => {
    expect(MAX_LIKE_BATCH).toBe(20);
    expect(parseWith(LikeRequestSchema, { count: MAX_LIKE_BATCH }).count).toBe(MAX_LIKE_BATCH);
    expect(parseWith(LikeRequestSchema, {}).count).toBe(1);
    expect(() => parseWith(LikeRequestSchema, { count: MAX_LIKE_BATCH + 1 })).toThrow(/body.count/);
  });
});
