import { SqlFloat, compareStrings, isMap, isPrintableList, type SqlValue } from '../values';
import { checkStringSize, type EvaluationLimits } from '../limits';
import { fnError } from './args';

/**
 * io_lib:format/2 as sprintf(Fmt, A1, ...) and sprintf_s(Fmt, [A...]) use it. Directives:
 * `~s ~ts` (strings, atoms, character lists), `~p ~w ~tp ~tw ~P ~W` (Erlang term syntax), `~c`, `~B ~b ~X ~x ~#
 * ~+` (integers), `~f ~e ~g` (floats only, as in Erlang), `~i` (skip), `~n`, `~~`, with field width,
 * precision, pad character and `-` for left adjustment (`~-10s`, `~.2f`, `~5.3.0f`, `~*s`).
 */
export function sprintf(name: string, format: string, args: readonly SqlValue[], limits: EvaluationLimits): string {
  let out = '';
  let argIndex = 0;
  const next = (): SqlValue => {
    if (argIndex >= args.length) throw fnError(name, 'not enough arguments for the format');
    return args[argIndex++];
  };
  const nextInt = (): number => {
    const v = next();
    if (typeof v !== 'number' || !Number.isInteger(v)) throw fnError(name, '`*` needs an integer argument');
    return v;
  };
  let i = 0;
  while (i < format.length) {
    const c = format[i] as string;
    if (c !== '~') {
      out += c;
      i++;
      continue;
    }
    i++;
    // ~F.P.PadModC
    let width: number | undefined;
    let precision: number | undefined;
    let padChar = ' ';
    let leftAdjust = false;
    if (format[i] === '-') {
      leftAdjust = true;
      i++;
    }
    if (format[i] === '*') {
      width = nextInt();
      i++;
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m !== null) {
        width = Number(m[0]);
        i += m[0].length;
      }
    }
    if (width !== undefined && width < 0) {
      leftAdjust = true;
      width = -width;
    }
    // Widths come from the format or the arguments (data): refuse one past the limit before padding to it.
    if (width !== undefined) checkStringSize(name, out.length + width, limits);
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        precision = nextInt();
        i++;
      } else {
        const m = /^\d+/.exec(format.slice(i));
        if (m !== null) {
          precision = Number(m[0]);
          i += m[0].length;
        }
      }
      if (format[i] === '.') {
        i++;
        if (format[i] === '*') {
          padChar = String.fromCodePoint(nextInt());
          i++;
        } else if (i < format.length) {
          padChar = String.fromCodePoint(format.codePointAt(i) as number);
          i += padChar.length;
        }
      }
    }
    let unicode = false;
    while (format[i] === 't' || format[i] === 'l') {
      if (format[i] === 't') unicode = true;
      i++;
    }
    const control = format[i];
    i++;
    let field: string;
    switch (control) {
      case '~':
        field = '~';
        break;
      case 'n':
        field = '\n';
        break;
      case 'c': {
        const v = next();
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw fnError(name, '~c needs a character code');
        field = String.fromCodePoint(v).repeat(width ?? 1);
        width = undefined;
        break;
      }
      case 's':
        field = stringArg(name, next());
        if (precision !== undefined) field = Array.from(field).slice(0, precision).join('');
        break;
      case 'w':
      case 'p':
        field = termText(next(), unicode, control === 'p');
        break;
      case 'W':
      case 'P':
        field = termText(next(), unicode, control === 'P');
        next(); // the depth argument: terms here are never deep enough for it to matter
        break;
      case 'B':
      case 'b':
      case '#':
      case '+': {
        const v = integerArg(name, control, next());
        const base = precision ?? 10;
        if (base < 2 || base > 36) throw fnError(name, `base ${base} is out of range 2..36`);
        let digits = digitsOf(v, base);
        if (control === 'B' || control === '#' || control === '+') digits = digits.toUpperCase();
        if (control === '#' || control === '+') digits = `${base}#${digits}`;
        field = (v < 0 ? '-' : '') + digits;
        break;
      }
      case 'X':
      case 'x': {
        const v = integerArg(name, control, next());
        const prefix = stringArg(name, next());
        const base = precision ?? 10;
        let digits = digitsOf(v, base);
        if (control === 'X') digits = digits.toUpperCase();
        field = (v < 0 ? '-' : '') + prefix + digits;
        break;
      }
      case 'f':
      case 'e':
      case 'g': {
        const v = next();
        const x = typeof v === 'number' && !Number.isInteger(v) ? v : v instanceof SqlFloat ? v.value : undefined;
        if (x === undefined) throw fnError(name, `~${control} needs a float argument`);
        field = formatFloatDirective(control, x, precision ?? 6);
        break;
      }
      case 'i':
        next();
        field = '';
        break;
      default:
        throw fnError(name, `unsupported format directive ~${control ?? ''}`);
    }
    if (width !== undefined && field.length < width) {
      const fill = padChar.repeat(width - field.length);
      field = leftAdjust ? field + fill : fill + field;
    } else if (width !== undefined && field.length > width && control !== 's') {
      // io_lib fills an overflowing numeric field with asterisks.
      field = '*'.repeat(width);
    }
    out += field;
    checkStringSize(name, out.length, limits);
  }
  if (argIndex !== args.length) throw fnError(name, 'too many arguments for the format');
  return out;
}

/** An integer of any size (a bigint beyond 2^53), as Erlang's ~B/~X print bignums. */
function integerArg(name: string, control: string, v: SqlValue): number | bigint {
  if ((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint') return v;
  throw fnError(name, `~${control} needs an integer argument`);
}

/** |v| in a base, for either kind of integer. */
function digitsOf(v: number | bigint, base: number): string {
  return typeof v === 'bigint' ? (v < 0n ? -v : v).toString(base) : Math.abs(v).toString(base);
}

function stringArg(name: string, v: SqlValue): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v) && v.every((c) => typeof c === 'number' && Number.isInteger(c) && c >= 0 && c <= 0x10ffff)) {
    return String.fromCodePoint(...(v as number[]));
  }
  throw fnError(name, '~s needs a string, an atom or a character list');
}

function formatFloatDirective(control: string, x: number, precision: number): string {
  if (control === 'f') return x.toFixed(Math.min(precision, 100));
  if (control === 'e') return exponential(x, precision);
  const ax = Math.abs(x);
  return ax >= 0.1 && ax < 10000 ? x.toFixed(Math.max(precision - 1 - Math.floor(Math.log10(ax)), 0)) : exponential(x, precision);
}

/** Erlang's ~e: precision counts significant digits, exponent without padding (`1.50000e+0`). */
function exponential(x: number, precision: number): string {
  const [mantissa = '', exponent = ''] = x.toExponential(Math.max(precision - 1, 0)).split('e');
  return `${mantissa}e${exponent}`;
}

/** Erlang's shortest float text (`2.0`, `0.1`, `1.0e20`). */
export function erlangFloat(x: number): string {
  const ax = Math.abs(x);
  if (ax !== 0 && (ax >= 1e16 || ax < 1e-4)) {
    const [mantissa = '', exponent = ''] = x.toExponential().split('e');
    return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}e${exponent.replace('+', '')}`;
  }
  const s = String(x);
  return s.includes('.') ? s : `${s}.0`;
}

/** A value in Erlang term syntax (~p / ~w): binaries as <<"...">>, maps as #{K => V}, atoms bare. */
export function termText(v: SqlValue, unicode: boolean, pretty: boolean): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : erlangFloat(v);
  if (v instanceof SqlFloat) return erlangFloat(v.value);
  if (typeof v === 'string' || Buffer.isBuffer(v)) return binaryText(v, unicode);
  if (Array.isArray(v)) {
    if (pretty && v.length > 0 && isPrintableList(v)) return JSON.stringify(String.fromCharCode(...(v as number[])));
    return `[${v.map((e) => termText(e, unicode, pretty)).join(',')}]`;
  }
  if (isMap(v)) {
    const sep = pretty ? ' => ' : '=>';
    const entries = Object.keys(v)
      .sort(compareStrings)
      .map((k) => `${binaryText(k, unicode)}${sep}${termText(v[k], unicode, pretty)}`);
    return `#{${entries.join(pretty ? ',' : ',')}}`;
  }
  return String(v);
}

function binaryText(v: string | Buffer, unicode: boolean): string {
  const buf = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  let printable = true;
  for (const b of buf) {
    if (b >= 128 ? !unicode : b < 32 && b !== 10 && b !== 9 && b !== 13) {
      printable = false;
      break;
    }
  }
  if (!printable) return `<<${Array.from(buf).join(',')}>>`;
  const s = buf.toString('utf8');
  const escaped = s.replace(/[\\"\n\t\r]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t', '\r': '\\r' })[c] ?? c);
  return /[^\x00-\x7f]/.test(s) ? `<<"${escaped}"/utf8>>` : `<<"${escaped}">>`;
}
