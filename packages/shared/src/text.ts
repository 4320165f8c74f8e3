import { z } from 'zod';

/*
 * Text people type and others read: display names, comments, video titles. Every such field is
 * one line of visible text, the same rules for all three:
 *
 *   - normalised to NFC, so one visible string has one stored form (and limits count that form);
 *   - refused (400, not silently cleaned) when it holds a control character (C0 including tab and
 *     line breaks, DEL, C1, U+2028/U+2029), a bidi override, embedding or isolate (U+202A–U+202E,
 *     U+2066–U+2069: "RLO" spoofing reverses what follows), a lone surrogate, a tag character
 *     outside an emoji flag (tags carry invisible ASCII), or a run of more than
 *     MAX_COMBINING_RUN combining marks ("Zalgo" text that draws over its neighbours);
 *   - runs of spaces (any Unicode space) become one space, and the ends are trimmed;
 *   - what is left must hold visible text: a letter, digit, punctuation or symbol once format
 *     characters (zero-width space/joiners, BOM, soft hyphen, variation selectors…), spaces,
 *     combining marks and the "blank" letters (Hangul fillers, braille blank) are set aside.
 *
 * Refusing tells the writer what was wrong; cleaning quietly would change what they wrote. Joiners
 * stay allowed inside text: emoji sequences and Persian or Indic scripts need them.
 */

/** Longest run of combining marks after one base character (Vietnamese and Thai stack 2–3). */
export const MAX_COMBINING_RUN = 4;

const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
/** A subdivision flag (🏴 + tag letters/digits + cancel tag, e.g. Scotland): the one use of tags. */
const TAG_FLAG = /\u{1F3F4}[\u{E0030}-\u{E0039}\u{E0061}-\u{E007A}]{1,6}\u{E007F}/gu;
const TAG = /[\u{E0000}-\u{E007F}]/u;
const COMBINING_FLOOD = new RegExp(`\\p{M}{${MAX_COMBINING_RUN + 1},}`, 'u');
const SPACES = /[\p{Zs}]+/gu;
/**
 * One character that draws something: a letter, digit, punctuation or symbol, but not one of the
 * letters that draw nothing (Hangul fillers, braille blank). Format characters, spaces and
 * combining marks are none of these, so they never count.
 */
const VISIBLE = /(?![\u115F\u1160\u3164\uFFA0\u2800])[\p{L}\p{N}\p{P}\p{S}]/u;

export type TextCheck = { ok: true; text: string } | { ok: false; reason: string };

/** Normalises one line of user text, or says why it is refused (rules above). */
export function cleanText(raw: string): TextCheck {
  if (LONE_SURROGATE.test(raw)) return { ok: false, reason: 'must be valid Unicode (a lone surrogate)' };
  const text = raw.normalize('NFC');
  if (CONTROL.test(text)) return { ok: false, reason: 'must be one line without control characters' };
  if (BIDI_CONTROL.test(text)) {
    return { ok: false, reason: 'must not contain bidirectional override, embedding or isolate characters' };
  }
  if (TAG.test(text.replace(TAG_FLAG, ''))) return { ok: false, reason: 'must not contain tag characters' };
  if (COMBINING_FLOOD.test(text)) {
    return { ok: false, reason: `must not stack more than ${MAX_COMBINING_RUN} combining marks on a character` };
  }
  if (!VISIBLE.test(text)) return { ok: false, reason: 'must contain visible text' };
  const collapsed = text.replace(SPACES, ' ').trim();
  return { ok: true, text: collapsed };
}

/**
 * A zod field for user text: cleanText, then at most `max` UTF-16 code units of the normalised
 * text (what the browser's `maxLength` counts). For input schemas only: stored or signed values
 * (a session's user) are read back as they were written.
 */
export function userTextSchema(what: string, max: number) {
  return z
    .string()
    .max(max * 4, `${what} must be at most ${max} characters`)
    .transform((raw, ctx) => {
      const checked = cleanText(raw);
      if (checked.ok) return checked.text;
      ctx.addIssue({ code: 'custom', message: `${what} ${checked.reason}` });
      return z.NEVER;
    })
    .pipe(z.string().max(max, `${what} must be at most ${max} characters`));
}
