/**
 * Text as a terminal shows it: how many columns a string takes (combining marks take none, wide
 * East Asian characters and emoji two), padding and wrapping by that width, and the width to fit.
 */

/** Marks that combine with the character before them, and other characters that take no column. */
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;

/** Code point ranges a terminal draws two columns wide (East Asian Wide and Fullwidth, emoji). */
const WIDE: [number, number][] = [
  [0x1100, 0x115f],
  [0x231a, 0x231b],
  [0x2329, 0x232a],
  [0x23e9, 0x23ec],
  [0x23f0, 0x23f0],
  [0x23f3, 0x23f3],
  [0x25fd, 0x25fe],
  [0x2614, 0x2615],
  [0x2648, 0x2653],
  [0x267f, 0x267f],
  [0x2693, 0x2693],
  [0x26a1, 0x26a1],
  [0x26aa, 0x26ab],
  [0x26bd, 0x26be],
  [0x26c4, 0x26c5],
  [0x26ce, 0x26ce],
  [0x26d4, 0x26d4],
  [0x26ea, 0x26ea],
  [0x26f2, 0x26f3],
  [0x26f5, 0x26f5],
  [0x26fa, 0x26fa],
  [0x26fd, 0x26fd],
  [0x2705, 0x2705],
  [0x270a, 0x270b],
  [0x2728, 0x2728],
  [0x274c, 0x274c],
  [0x274e, 0x274e],
  [0x2753, 0x2755],
  [0x2757, 0x2757],
  [0x2795, 0x2797],
  [0x27b0, 0x27b0],
  [0x27bf, 0x27bf],
  [0x2b1b, 0x2b1c],
  [0x2b50, 0x2b50],
  [0x2b55, 0x2b55],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff],
  [0x1b000, 0x1b2ff],
  [0x1f004, 0x1f004],
  [0x1f0cf, 0x1f0cf],
  [0x1f18e, 0x1f18e],
  [0x1f191, 0x1f19a],
  [0x1f200, 0x1f251],
  [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6ff],
  [0x1f7e0, 0x1f7eb],
  [0x1f90c, 0x1f9ff],
  [0x1fa70, 0x1faff],
  [0x20000, 0x3fffd],
];

/** Columns one code point takes: 0, 1 or 2. */
export function charWidth(char: string): number {
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x300) return code < 0x20 || (code >= 0x7f && code < 0xa0) ? 0 : 1;
  if (ZERO_WIDTH.test(char) || (code >= 0x1160 && code <= 0x11ff) || code === 0x200b) return 0;
  let lo = 0;
  let hi = WIDE.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [from, to] = WIDE[mid] as [number, number];
    if (code < from) hi = mid - 1;
    else if (code > to) lo = mid + 1;
    else return 2;
  }
  return 1;
}

/** Columns a string takes in a terminal: `λ̂` (λ and a combining circumflex) is one, `表` two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char);
  return width;
}

export function padEndTo(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

export function padStartTo(text: string, width: number): string {
  return ' '.repeat(Math.max(0, width - displayWidth(text))) + text;
}

/** Characters a long word breaks after by preference: `resnet50/cpu-1`, `fasterrcnn_resnet50_fpn`. */
const SOFT_BREAK = /[/_\-,.:]/;

/**
 * Splits a word that is wider than `width` into pieces of at most that many columns, each
 * ending after a soft break character when the piece has one, else wherever the width ends.
 */
function breakWord(word: string, width: number): string[] {
  const pieces: string[] = [];
  let piece: string[] = [];
  let used = 0;
  for (const char of word) {
    const w = charWidth(char);
    while (used + w > width && piece.length > 0) {
      let cut = piece.length;
      for (let i = piece.length - 1; i > 0; i--) {
        if (SOFT_BREAK.test(piece[i] as string)) {
          cut = i + 1;
          break;
        }
      }
      pieces.push(piece.slice(0, cut).join(''));
      piece = piece.slice(cut);
      used = displayWidth(piece.join(''));
    }
    piece.push(char);
    used += w;
  }
  if (piece.length > 0) pieces.push(piece.join(''));
  return pieces;
}

/** The longest start of `word` that ends after a soft break and takes at most `room` columns. */
function softPrefix(word: string, room: number): string | undefined {
  let used = 0;
  let best: string | undefined;
  let prefix = '';
  for (const char of word) {
    used += charWidth(char);
    if (used > room) break;
    prefix += char;
    if (SOFT_BREAK.test(char) && prefix.length < word.length) best = prefix;
  }
  return best;
}

/** One line (no newline) folded to `limit` columns. */
function wrapLine(text: string, limit: number): string[] {
  if (displayWidth(text) <= limit) return [text];
  const lines: string[] = [];
  let line = '';
  let used = 0;
  for (let word of text.split(/ +/)) {
    if (word === '') continue;
    let w = displayWidth(word);
    if (used > 0 && used + 1 + w <= limit) {
      line += ` ${word}`;
      used += 1 + w;
      continue;
    }
    if (used > 0) {
      // A word that must break anyway starts on this line when a piece of it fits.
      const head = w > limit ? softPrefix(word, limit - used - 1) : undefined;
      if (head) {
        line += ` ${head}`;
        word = word.slice(head.length);
        w = displayWidth(word);
      }
      lines.push(line);
    }
    if (w <= limit) {
      line = word;
      used = w;
      continue;
    }
    const pieces = breakWord(word, limit);
    lines.push(...pieces.slice(0, -1));
    line = pieces[pieces.length - 1] ?? '';
    used = displayWidth(line);
  }
  lines.push(line);
  return lines;
}

/**
 * Lines of at most `width` columns: each line of the text broken at spaces where possible, and
 * inside words longer than a line (after `/`, `_`, `-` and the like when they have one). Always
 * at least one line (empty text gives one empty line).
 */
export function wrapText(text: string, width: number): string[] {
  const limit = Math.max(1, Math.floor(width));
  return text.split('\n').flatMap((line) => wrapLine(line, limit));
}

/** The columns output should fit: the terminal's when stdout is one, else 100. */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  return stream.isTTY && stream.columns && stream.columns > 0 ? stream.columns : 100;
}
