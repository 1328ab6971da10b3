/**
 * How Redis reads one redis.conf line: the rules of `sdssplitargs` (Redis's src/sds.c),
 * which config.c applies to every line after trimming " \t\r\n" at both ends.
 *
 * - Arguments are separated by whitespace (C `isspace` in the C locale: space, \t, \n,
 *   \v, \f, \r); bytes from 0x80 up, so every non-ASCII character, are ordinary.
 * - "double quotes" take the escapes \n \r \t \b \a \xHH and \<any> for that character;
 *   'single quotes' take only \'. Quotes may start in the middle of an argument
 *   (`a"b c"` is `ab c`).
 * - A closing quote must be followed by whitespace or the end of the line, and every
 *   quote must be closed; otherwise Redis refuses the file ("Unbalanced quotes").
 *
 * Arguments are bytes: `"\xff"` is one byte that is not UTF-8 text.
 */

/** The arguments of a line, or why Redis refuses it. */
export type ConfArgs =
  | { readonly ok: true; readonly args: readonly Buffer[] }
  | { readonly ok: false; readonly error: string };

/** C isspace() in the C locale (Redis never calls setlocale for LC_CTYPE). */
function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || (byte !== undefined && byte >= 0x09 && byte <= 0x0d);
}

function hexDigit(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}

const ESCAPES: Readonly<Record<number, number>> = { 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x61: 0x07 };

/** Split text (a directive's value, or a whole line) into arguments exactly as Redis does. */
export function splitConfArgs(text: string): ConfArgs {
  const bytes = Buffer.from(text, 'utf8');
  const args: Buffer[] = [];
  let p = 0;
  const at = (i: number): number | undefined => (i < bytes.length ? bytes[i] : undefined);
  for (;;) {
    while (isSpace(at(p))) p++;
    if (p >= bytes.length) return { ok: true, args };
    const current: number[] = [];
    let quote: '"' | "'" | undefined;
    for (let done = false; !done;) {
      const c = at(p);
      if (quote === '"') {
        if (c === 0x5c && at(p + 1) === 0x78 && hexDigit(at(p + 2)) >= 0 && hexDigit(at(p + 3)) >= 0) {
          current.push(hexDigit(at(p + 2)) * 16 + hexDigit(at(p + 3)));
          p += 3;
        } else if (c === 0x5c && at(p + 1) !== undefined) {
          p++;
          current.push(ESCAPES[bytes[p]] ?? bytes[p]);
        } else if (c === 0x22) {
          if (at(p + 1) !== undefined && !isSpace(at(p + 1))) return { ok: false, error: 'a closing quote must be followed by a space or the end of the value' };
          done = true;
        } else if (c === undefined) {
          return { ok: false, error: 'unbalanced quotes: a " is never closed' };
        } else {
          current.push(c);
        }
      } else if (quote === "'") {
        if (c === 0x5c && at(p + 1) === 0x27) {
          p++;
          current.push(0x27);
        } else if (c === 0x27) {
          if (at(p + 1) !== undefined && !isSpace(at(p + 1))) return { ok: false, error: 'a closing quote must be followed by a space or the end of the value' };
          done = true;
        } else if (c === undefined) {
          return { ok: false, error: "unbalanced quotes: a ' is never closed" };
        } else {
          current.push(c);
        }
      } else if (c === undefined || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        // Only these end an unquoted argument: \v and \f inside one are kept (as in Redis).
        done = true;
      } else if (c === 0x22) {
        quote = '"';
      } else if (c === 0x27) {
        quote = "'";
      } else {
        current.push(c);
      }
      if (c !== undefined) p++;
    }
    args.push(Buffer.from(current));
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** An argument as text, or undefined when its bytes are not UTF-8. */
export function argText(arg: Buffer): string | undefined {
  try {
    return utf8.decode(arg);
  } catch {
    return undefined;
  }
}

/** The arguments as text; undefined when Redis would refuse the line or an argument is not UTF-8. */
export function confArgsText(text: string): string[] | undefined {
  const split = splitConfArgs(text);
  if (!split.ok) return undefined;
  const out: string[] = [];
  for (const arg of split.args) {
    const decoded = argText(arg);
    if (decoded === undefined) return undefined;
    out.push(decoded);
  }
  return out;
}

/**
 * The one argument of a single-argument directive, as text; undefined when the value
 * does not spell exactly one UTF-8 argument (Redis: "wrong number of arguments").
 */
export function singleConfArg(value: string): string | undefined {
  const args = confArgsText(value);
  return args?.length === 1 ? args[0] : undefined;
}

/** ASCII lower case, as C tolower() in the C locale (no Unicode case mapping). */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** Redis's yesnotoi() (strcasecmp): `yes`/`no` in any ASCII case; undefined for anything else. */
export function yesNo(arg: string): boolean | undefined {
  const lower = asciiLower(arg);
  return lower === 'yes' ? true : lower === 'no' ? false : undefined;
}
