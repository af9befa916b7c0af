const LEVELS: Record<number, { label: string; color: string }> = {
  10: { label: 'TRACE', color: '90' },
  20: { label: 'DEBUG', color: '90' },
  30: { label: '', color: '' },
  40: { label: 'WARN', color: '33' },
  50: { label: 'ERROR', color: '31' },
  60: { label: 'FATAL', color: '31' },
};

const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname']);
/** Longer objects are for log collectors; a person reads the message, which says the gist. */
const MAX_OBJECT_CHARS = 60;

function fieldText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value === '' || /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (typeof value !== 'object') return String(value);
  if (value instanceof Object && 'message' in value && typeof value.message === 'string') return fieldText(value.message);
  const json = JSON.stringify(value);
  return json.length <= MAX_OBJECT_CHARS ? json : undefined;
}

const paint = (text: string, color: string, colors: boolean) => (colors && color ? `\u001b[${color}m${text}\u001b[0m` : text);

/** One pino JSON line as one line for a person: `HH:MM:SS [LEVEL] message key=value …`. */
export function humanLine(json: string, colors: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const at = new Date(typeof entry.time === 'number' ? entry.time : Date.now());
  const time = [at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const level = LEVELS[Number(entry.level)] ?? { label: String(entry.level), color: '' };
  const fields = Object.entries(entry)
    .filter(([key]) => !OMITTED.has(key))
    .flatMap(([key, value]) => {
      const text = fieldText(value);
      return text === undefined ? [] : [`${key}=${text}`];
    });
  const parts = [
    paint(time, '90', colors),
    ...(level.label ? [paint(level.label, level.color, colors)] : []),
    String(entry.msg ?? ''),
    ...(fields.length > 0 ? [paint(fields.join(' '), '90', colors)] : []),
  ];
  return `${parts.filter(Boolean).join(' ')}\n`;
}
