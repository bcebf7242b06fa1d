import { lengthFraming } from './length.js';
import { linesFraming } from './lines.js';
import { noneFraming } from './none.js';
import { optionTypeError } from '../options/messages.js';
import type { FrameWriter, Framing, FramingName } from './types.js';

export { createLengthDecoder, lengthFraming } from './length.js';
export type { FrameReceiver, LengthDecoder } from './length.js';
export type { LengthFramingOptions } from './length.js';
export { linesFraming } from './lines.js';
export type { LinesFramingOptions } from './lines.js';
export { noneFraming } from './none.js';
export type { NoneFramingOptions } from './none.js';
export { framingDefaults } from './types.js';
export type { FrameDecoder, FrameSink, FrameWriter, Framing, FramingName } from './types.js';

/**
 * What a `framing` option may be: a name (with default options), a name with options, or
 * a ready {@link Framing} (including one the application wrote itself).
 */
export type FramingSpec =
  | FramingName
  | {
      readonly type: FramingName;
      /** See the option of each framing. @default 1048576 for `length` and `lines`, Infinity for `none` */
      readonly maxFrameSize?: number;
      /** Only for `lines`. @default '\n' */
      readonly delimiter?: string | Uint8Array;
    }
  | Framing;

/**
 * Resolves a `framing` option into a {@link Framing}, validating it once at the public
 * boundary: an unknown name, or a `delimiter` given to a framing other than `lines`,
 * throws a `TypeError`; a bad `maxFrameSize` (not a positive integer, over 2^32 - 1 for
 * `length`, `Infinity` for `length`) throws a `RangeError` naming the option and the value.
 *
 * @example
 * ```ts
 * createFraming('length');                                  // u32 prefix, 1 MiB limit
 * createFraming({ type: 'lines', delimiter: '\r\n\r\n' });  // a custom delimiter
 * createFraming({ type: 'length', maxFrameSize: 16 << 20 }); // 16 MiB frames
 * ```
 */
export function createFraming(spec: FramingSpec): Framing {
  if (typeof spec === 'string') return byName(spec, {});
  if (typeof spec !== 'object' || spec === null) {
    throw optionTypeError('framing', 'a name, an options object or a Framing', spec);
  }
  if ('createDecoder' in spec) {
    if (typeof spec.createDecoder !== 'function' || typeof spec.encode !== 'function') {
      throw optionTypeError('framing', 'a Framing with encode() and createDecoder()', spec);
    }
    const writer: unknown = spec.writer;
    if (writer !== undefined && !isFrameWriter(writer)) {
      throw optionTypeError('framing.writer', 'a FrameWriter with frameSize() and writeFrame()', writer);
    }
    return spec;
  }
  const { type, maxFrameSize, delimiter } = spec;
  if (delimiter !== undefined && type !== 'lines') {
    throw optionTypeError('framing.delimiter', `no delimiter for '${String(type)}' framing`, delimiter);
  }
  return byName(type, { maxFrameSize, delimiter });
}

function isFrameWriter(value: unknown): value is FrameWriter {
  const w = value as Partial<FrameWriter> | null;
  return (
    typeof w === 'object' &&
    w !== null &&
    typeof w.frameSize === 'function' &&
    typeof w.writeFrame === 'function'
  );
}

function byName(name: unknown, options: { maxFrameSize?: number; delimiter?: string | Uint8Array }): Framing {
  switch (name) {
    case 'length':
      return lengthFraming({ maxFrameSize: options.maxFrameSize });
    case 'lines':
      return linesFraming(options);
    case 'none':
      return noneFraming({ maxFrameSize: options.maxFrameSize });
    default:
      throw optionTypeError('framing', "'length', 'lines' or 'none'", name);
  }
}
