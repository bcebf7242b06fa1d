import type { OptionError } from '../errors.js';
import type { OptionTexts } from './verbose-texts.js';

export { describe, didYouMean } from './verbose-texts.js';
export type { OptionTexts } from './verbose-texts.js';

/** A value in a short message: strings quoted, numbers and the like as they are, others by type. */
const shown = (value: unknown): string =>
  typeof value === 'string'
    ? `'${value}'`
    : value === null ||
        (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')
      ? String(value)
      : typeof value;

/**
 * Every text the option checks produce, in one place: the checks only pick a template and
 * its values. These are the short ones (the option's name and the bad value), so a browser
 * bundle carries little text; `sockline/verbose` (and the Node build) install the long ones,
 * with what was expected and a did-you-mean for an unknown name.
 */
let text: OptionTexts = {
  unknown: (name, prefix) => `Unknown option ${prefix}${name}`,
  type: (what, name, _expected, value) => `Invalid ${what} ${name}: ${shown(value)}`,
  mode: (name, mode) => `Invalid option ${name} in ${mode} mode`,
  range: (what, name, value) => `Invalid ${what} ${name}: ${shown(value)}`,
};

/** Installs the texts of option errors (what `sockline/verbose` does when imported). */
export function useOptionTexts(texts: OptionTexts): void {
  text = texts;
}

/** A `TypeError`: option `name` holds a value of the wrong type. Carries `ERR_INVALID_OPTION`. */
export function optionTypeError(name: string, expected: string, value: unknown): OptionError {
  return coded(new TypeError(text.type('option', name, expected, value)));
}

/** A `RangeError`: option `name` has the right type but a value out of range. Carries `ERR_INVALID_OPTION`. */
export function optionRangeError(name: string, value: unknown, expected?: string): OptionError {
  return coded(new RangeError(text.range('option', name, value, expected)));
}

/** A `TypeError`: an option of the other mode of `connect()` (`token` in raw mode). */
export function optionModeError(name: string, mode: 'raw' | 'sockline'): OptionError {
  return coded(new TypeError(text.mode(name, mode === 'raw' ? 'raw' : 'protocol')));
}

/** A `TypeError` for a bad argument of a method (`request()`'s method name…). Carries `ERR_INVALID_OPTION`. */
export function argumentTypeError(name: string, expected: string, value: unknown): OptionError {
  return coded(new TypeError(text.type('argument', name, expected, value)));
}

/** A `TypeError` for an option no one knows, with the closest known name as a hint. */
export function unknownOptionError(name: string, prefix: string, known: readonly string[]): OptionError {
  return coded(new TypeError(text.unknown(name, prefix, known)));
}

function coded(error: TypeError | RangeError): OptionError {
  // The code as a literal: a bundle that needs no other code keeps no table of them all.
  (error as { code?: string }).code = 'ERR_INVALID_OPTION';
  return error as OptionError;
}
