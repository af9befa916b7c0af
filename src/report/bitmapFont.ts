/**
 * A 5-pixel-wide bitmap font for printable ASCII, so charts can carry text without a font engine or a native
 * dependency. Each glyph is five column bytes written as hex; bit 0 of a column is the glyph's top row.
 * Capitals and digits use rows 0–6; row 7 holds only the descenders of g, j, p, q and y, which
 * read as other letters when squeezed into seven rows.
 */
const GLYPHS = [
  '0000000000' + '00005f0000' + '0007000700' + '147f147f14' + '242a7f2a12' + '2313086462' + '3649552250' + '0005030000', //  !"#$%&'
  '001c224100' + '0041221c00' + '082a1c2a08' + '08083e0808' + '0050300000' + '0808080808' + '0060600000' + '2010080402', // ()*+,-./
  '3e5149453e' + '00427f4000' + '4261514946' + '2141454b31' + '1814127f10' + '2745454539' + '3c4a494930' + '0171090503', // 01234567
  '3649494936' + '064949291e' + '0036360000' + '0056360000' + '0008142241' + '1414141414' + '4122140800' + '0201510906', // 89:;<=>?
  '324979413e' + '7e1111117e' + '7f49494936' + '3e41414122' + '7f4141221c' + '7f49494941' + '7f09090101' + '3e41415132', // @ABCDEFG
  '7f0808087f' + '00417f4100' + '2040413f01' + '7f08142241' + '7f40404040' + '7f0204027f' + '7f0408107f' + '3e4141413e', // HIJKLMNO
  '7f09090906' + '3e4151215e' + '7f09192946' + '4649494931' + '01017f0101' + '3f4040403f' + '1f2040201f' + '7f2018207f', // PQRSTUVW
  '6314081463' + '0304780403' + '6151494543' + '007f414100' + '0204081020' + '0041417f00' + '0402010204' + '4040404040', // XYZ[\]^_
  '0001020400' + '2054545478' + '7f48444438' + '3844444420' + '384444487f' + '3854545418' + '087e090102' + '18a4a4a47c', // `abcdefg
  '7f08040478' + '00447d4000' + '0080847d00' + '007f102844' + '00417f4000' + '7c04180478' + '7c08040478' + '3844444438', // hijklmno
  'fc24242418' + '18242424fc' + '7c08040408' + '4854545420' + '043f444020' + '3c4040207c' + '1c2040201c' + '3c4030403c', // pqrstuvw
  '4428102844' + '1ca0a0a07c' + '4464544c44' + '0008364100' + '00007f0000' + '0041360800' + '0804081008', // xyz{|}~
].join('');

const FIRST_CODE = 32;
const LAST_CODE = 126;
const COLUMNS = 5;
const GLYPH_HEIGHT = 8;
/** One blank column between glyphs keeps adjacent letters apart. */
const ADVANCE = COLUMNS + 1;

const columnBytes: Uint8Array = Uint8Array.from({ length: GLYPHS.length / 2 }, (_, i) =>
  Number.parseInt(GLYPHS.slice(2 * i, 2 * i + 2), 16),
);

/** Receives each lit pixel; the font stays independent of any particular image type. */
export type PixelSink = (x: number, y: number) => void;

/** Which way the baseline runs: 'up' rotates text a quarter turn anticlockwise, as for a y-axis label. */
export type TextDirection = 'right' | 'up';

export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

export function textHeight(scale = 1): number {
  return GLYPH_HEIGHT * scale;
}

/** Characters outside the table still take a cell, so a label's measured width stays true. */
function glyphOffset(char: string): number {
  const code = char.charCodeAt(0);
  const known = code >= FIRST_CODE && code <= LAST_CODE ? code : '?'.charCodeAt(0);
  return (known - FIRST_CODE) * COLUMNS;
}

/**
 * Draws text whose top-left corner (as read) is at (x, y); for 'up' text that corner is the
 * bottom-left of the drawn pixels.
 */
export function drawText(sink: PixelSink, text: string, x: number, y: number, scale = 1, direction: TextDirection = 'right'): void {
  for (let i = 0; i < text.length; i++) {
    const offset = glyphOffset(text.charAt(i));
    for (let column = 0; column < COLUMNS; column++) {
      const bits = columnBytes[offset + column] ?? 0;
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        if ((bits >> row) & 1) fillCell(sink, (i * ADVANCE + column) * scale, row * scale, x, y, scale, direction);
      }
    }
  }
}

/** Lights one scaled font pixel at text-space (along, across) relative to the text origin. */
function fillCell(sink: PixelSink, along: number, across: number, x: number, y: number, scale: number, direction: TextDirection): void {
  for (let dy = 0; dy < scale; dy++) {
    for (let dx = 0; dx < scale; dx++) {
      if (direction === 'right') sink(x + along + dx, y + across + dy);
      else sink(x + across + dy, y - along - dx);
    }
  }
}
