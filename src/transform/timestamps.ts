/**
 * Timestamp formats a dataset declares (`timestamp:` on a column), compiled once into a parser.
 * A format is `epoch_s`, `epoch_ms`, `iso8601`, or a pattern in the Java DateTimeFormatter letters
 * servers' docs use: `yyyy MM M MMM MMMM dd d HH H mm ss SSS Z XXX X 'literal' [optional]`.
 * Parsing is a little lenient where real logs are: a space matches any run of whitespace (syslog pads
 * days with a space), one-letter fields and `dd`/`HH`/`MM` take one or two digits, and fractional
 * seconds after the seconds are accepted whether or not the pattern has them.
 *
 * This module is serialized into the transform Lambda (plain functions and regexes only).
 */

/** A parsed instant (epoch ms, UTC) or why the text is not one. */
export type ParsedTime = { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly reason: string };

/** text, and the record's arrival time (year-less formats take the year from it) → instant. */
export type TimeParser = (text: string, arrivalMs: number) => ParsedTime;

const MONTH_NAMES = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** The latest epoch-ms value taken as a time (2100-01-01); beyond it a number is not a timestamp. */
export const MAX_EPOCH_MS = 4_102_444_800_000;

type Part = "year" | "month" | "day" | "hour" | "minute" | "second" | "fraction" | "offset" | "monthName";

interface CompiledPattern {
  readonly regex: RegExp;
  readonly parts: readonly Part[];
  readonly hasYear: boolean;
  readonly hasOffset: boolean;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Compiles a DateTimeFormatter-style pattern; throws with the position of anything it cannot read. */
export function compilePattern(pattern: string): CompiledPattern {
  const parts: Part[] = [];
  let source = "";
  let i = 0;
  let optionalDepth = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unclosed quote at position ${i + 1}`);
      source += end === i + 1 ? "'" : escapeRegex(pattern.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    if (c === "[") {
      source += "(?:";
      optionalDepth++;
      i++;
      continue;
    }
    if (c === "]") {
      if (optionalDepth === 0) throw new Error(`unmatched ] at position ${i + 1}`);
      source += ")?";
      optionalDepth--;
      i++;
      continue;
    }
    if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      const run = j - i;
      const add = (part: Part, re: string) => {
        parts.push(part);
        source += `(${re})`;
      };
      switch (c) {
        case "y":
        case "u":
          if (run !== 4 && run !== 1) throw new Error(`use yyyy for the year (position ${i + 1})`);
          add("year", "\\d{4}");
          break;
        case "M":
        case "L":
          if (run >= 4) add("monthName", "[A-Za-z]{3,9}");
          else if (run === 3) add("monthName", "[A-Za-z]{3}");
          else add("month", "\\d{1,2}");
          break;
        case "d":
          add("day", "\\d{1,2}");
          break;
        case "H":
          add("hour", "\\d{1,2}");
          break;
        case "m":
          add("minute", run === 1 ? "\\d{1,2}" : "\\d{2}");
          break;
        case "s":
          add("second", run === 1 ? "\\d{1,2}" : "\\d{2}");
          // Fractions after the seconds are common even where a format does not list them.
          if (pattern[j] !== "." && pattern[j] !== "," && pattern[j] !== "S") {
            parts.push("fraction");
            source += "(?:[.,](\\d+))?";
          }
          break;
        case "S":
          add("fraction", "\\d+");
          break;
        case "Z":
        case "X":
        case "x":
          add("offset", c === "X" ? "Z|[+-]\\d{2}(?::?\\d{2})?" : "[+-]\\d{2}:?\\d{2}|Z");
          break;
        default:
          throw new Error(`pattern letter "${c}" is not supported (position ${i + 1})`);
      }
      i = j;
      continue;
    }
    if (c === " ") {
      while (pattern[i] === " ") i++;
      source += "\\s+";
      continue;
    }
    source += escapeRegex(c);
    i++;
  }
  if (optionalDepth > 0) throw new Error("unclosed [ in the pattern");
  if (!parts.includes("day") || !(parts.includes("month") || parts.includes("monthName"))) {
    throw new Error("a timestamp pattern needs at least a month and a day");
  }
  return {
    regex: new RegExp(`^${source}$`),
    parts,
    hasYear: parts.includes("year"),
    hasOffset: parts.includes("offset"),
  };
}

function offsetMinutes(text: string): number {
  if (text === "Z") return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(text);
  if (!m) return 0;
  return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

/**
 * Minutes east of UTC of an IANA zone (or a fixed `±hh:mm`, or `UTC`) at a wall-clock time, via the
 * runtime's ICU data (Node and Lambda both ship full ICU).
 */
export function zoneOffsetMinutes(timeZone: string, wallClockMs: number): number {
  if (timeZone === "UTC" || timeZone === "Z") return 0;
  if (/^[+-]\d{2}:?\d{2}$/.test(timeZone)) return offsetMinutes(timeZone);
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  const at = (ms: number) => {
    const f: Record<string, number> = {};
    for (const p of format.formatToParts(new Date(ms))) if (p.type !== "literal") f[p.type] = Number(p.value);
    return (Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) - ms) / 60_000;
  };
  // The offset at the wall-clock instant read as UTC, corrected once for the offset itself.
  const guess = at(wallClockMs);
  return at(wallClockMs - guess * 60_000);
}

/** Builds the parser of a declared format; throws when the format cannot be compiled. */
export function timeParser(format: string, timeZone = "UTC"): TimeParser {
  if (format === "epoch_ms" || format === "epoch_s") {
    const scale = format === "epoch_ms" ? 1 : 1000;
    const max = MAX_EPOCH_MS / scale;
    const unit = format === "epoch_ms" ? "milliseconds" : "seconds";
    return (text) => {
      const t = text.trim();
      // Exports sometimes write integers as floats ("1433221332117.0").
      const n = /^[+-]?\d+(\.\d+)?$/.test(t) ? Number(t) : NaN;
      // Outside 1970..2100 is not an epoch timestamp of this unit (the other unit, or a corrupt value).
      if (!Number.isFinite(n) || n < 0 || n > max) return { ok: false, reason: `is not epoch ${unit}` };
      return { ok: true, ms: Math.round(n * scale) };
    };
  }
  const compiled = compilePattern(format === "iso8601" ? "yyyy-MM-dd'T'HH:mm:ss[.SSS][XXX]" : format);
  const isoSpace = format === "iso8601";
  return (text, arrivalMs) => {
    const input = isoSpace ? text.trim().replace(/^(\d{4}-\d{2}-\d{2}) /, "$1T") : text.trim();
    const m = compiled.regex.exec(input);
    if (!m) return { ok: false, reason: `does not match the format "${format}"` };
    let year = NaN;
    let month = NaN;
    let day = 1;
    let hour = 0;
    let minute = 0;
    let second = 0;
    let millis = 0;
    let offset: number | undefined;
    compiled.parts.forEach((part, k) => {
      const value = m[k + 1];
      if (value === undefined) return;
      switch (part) {
        case "year":
          year = Number(value);
          break;
        case "month":
          month = Number(value);
          break;
        case "monthName": {
          const index = MONTH_NAMES.findIndex(
            (name) =>
              name.toLowerCase() === value.toLowerCase() || name.slice(0, 3).toLowerCase() === value.toLowerCase(),
          );
          month = index + 1 || NaN;
          break;
        }
        case "day":
          day = Number(value);
          break;
        case "hour":
          hour = Number(value);
          break;
        case "minute":
          minute = Number(value);
          break;
        case "second":
          second = Number(value);
          break;
        case "fraction":
          millis = Math.floor(Number(`0.${value}`) * 1000);
          break;
        case "offset":
          offset = offsetMinutes(value);
          break;
      }
    });
    if (!(month >= 1 && month <= 12) || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
      return { ok: false, reason: `is not a valid date and time` };
    }
    const wall = (y: number) => Date.UTC(y, month - 1, day, hour, minute, second, millis);
    if (!compiled.hasYear) {
      // Year-less (syslog): the arrival year, or the year before when that would put the line more than
      // a day in the future (a December line arriving in January).
      const arrivalYear = new Date(arrivalMs).getUTCFullYear();
      year = wall(arrivalYear) > arrivalMs + 86_400_000 ? arrivalYear - 1 : arrivalYear;
    }
    const local = wall(year);
    if (new Date(local).getUTCDate() !== day) return { ok: false, reason: `is not a valid date and time` };
    const shift = offset ?? (compiled.hasOffset ? 0 : zoneOffsetMinutes(timeZone, local));
    return { ok: true, ms: local - shift * 60_000 };
  };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/**
 * `yyyy-MM-dd HH:mm:ss[.SSS]` of a UTC instant: a form the OpenX JSON SerDe reads as a timestamp.
 * Milliseconds are written only when there are some.
 */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())}`;
  const millis = d.getUTCMilliseconds();
  return millis === 0 ? base : `${base}.${pad(millis, 3)}`;
}

/** `yyyy-MM-dd` of a UTC instant (date columns). */
export function formatDate(ms: number): string {
  return formatTimestamp(ms).slice(0, 10);
}

/**
 * Writes an instant in a declared format (UTC; offsets as +0000 / Z): the inverse of `timeParser`,
 * used to make demo data from a dataset's samples. Optional sections are written.
 */
export function formatTime(format: string, ms: number): string {
  if (format === "epoch_ms") return String(ms);
  if (format === "epoch_s") return String(Math.floor(ms / 1000));
  const pattern = format === "iso8601" ? "yyyy-MM-dd'T'HH:mm:ss.SSSXXX" : format;
  const d = new Date(ms);
  let out = "";
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i];
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      out += end === i + 1 ? "'" : pattern.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? pattern.length : end + 1;
      continue;
    }
    if (c === "[" || c === "]") {
      i++;
      continue;
    }
    let j = i;
    while (pattern[j] === c) j++;
    const run = j - i;
    const two = (n: number) => (run >= 2 ? pad(n) : String(n));
    switch (c) {
      case "y":
      case "u":
        out += String(d.getUTCFullYear());
        break;
      case "M":
      case "L":
        out +=
          run >= 4
            ? MONTH_NAMES[d.getUTCMonth()]
            : run === 3
              ? MONTH_NAMES[d.getUTCMonth()].slice(0, 3)
              : two(d.getUTCMonth() + 1);
        break;
      case "d":
        out += two(d.getUTCDate());
        break;
      case "H":
        out += two(d.getUTCHours());
        break;
      case "m":
        out += two(d.getUTCMinutes());
        break;
      case "s":
        out += two(d.getUTCSeconds());
        break;
      case "S":
        out += pad(d.getUTCMilliseconds(), 3).slice(0, run);
        break;
      case "Z":
      case "x":
        out += "+0000";
        break;
      case "X":
        out += "Z";
        break;
      default:
        out += c.repeat(run);
    }
    i = j;
  }
  return out;
}

/**
 * Whether a declared timestamp format carries its year: year-less ones (syslog's `MMM d HH:mm:ss`)
 * take it from the arrival time, or from a replayed record's reference time.
 */
export function formatHasYear(format: string): boolean {
  if (format === "epoch_ms" || format === "epoch_s" || format === "iso8601") return true;
  try {
    return compilePattern(format).hasYear;
  } catch {
    return true;
  }
}
