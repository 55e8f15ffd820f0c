// Seeded generator of malformed `.timbre` model files for the fuzz suite, from a valid file's bytes: raw damage
// (bit flips, truncation, padding, preamble fields) and, with a correct checksum so the parser's later checks are
// reached, hostile headers (wrong kind or version, huge or negative declared tensor sizes, mismatched shapes,
// offsets outside the data, non-JSON and wrongly typed fields).

import { crc32 } from '../../src/io/crc32.js';
import { Rng } from '../../src/nn/module.js';

export interface ModelFileCase {
  readonly name: string;
  readonly bytes: Uint8Array;
}

const PREAMBLE = 32;
const ALIGN = 64;

/** The preamble, header JSON and data section of a file as `encodeModelFile` writes it. */
export function splitModelFile(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(12, true);
  const dataStart = Math.ceil((PREAMBLE + headerLength) / ALIGN) * ALIGN;
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREAMBLE, PREAMBLE + headerLength))) as Record<string, unknown>;
  return { header, data: bytes.subarray(dataStart) };
}

/** A file of `headerText` and `data` with a consistent preamble and checksum (so only the content is wrong). */
export function assembleModelFile(headerText: string, data: Uint8Array, options: { formatVersion?: number } = {}): Uint8Array {
  const headerBytes = new TextEncoder().encode(headerText);
  const dataStart = Math.ceil((PREAMBLE + headerBytes.length) / ALIGN) * ALIGN;
  const out = new Uint8Array(dataStart + data.length);
  out.set(new TextEncoder().encode('TIMBREMF'), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, options.formatVersion ?? 1, true);
  view.setUint32(12, headerBytes.length, true);
  view.setBigUint64(16, BigInt(data.length), true);
  out.set(headerBytes, PREAMBLE);
  for (let i = PREAMBLE + headerBytes.length; i < dataStart; i++) out[i] = 0x20;
  out.set(data, dataStart);
  view.setUint32(24, crc32(out.subarray(PREAMBLE)), true);
  return out;
}

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[Math.floor(rng.uniform() * list.length)]!;
}

/** At least `count` malformed files made from `valid` (a real model file's bytes), deterministic for `seed`. */
export function modelFileFuzzCases(valid: Uint8Array, seed = 7, count = 240): ModelFileCase[] {
  const rng = new Rng(seed);
  const { header, data } = splitModelFile(valid);
  const tensors = header['tensors'] as { name: string; shape: number[]; dtype: string; offset: number }[];
  const cases: ModelFileCase[] = [];
  const add = (name: string, bytes: Uint8Array): void => void cases.push({ name: `${cases.length}:${name}`, bytes });
  const withHeader = (name: string, edit: (h: Record<string, unknown>) => void): void => {
    const h = structuredClone(header);
    edit(h);
    add(name, assembleModelFile(JSON.stringify(h), data));
  };
  const withTensor = (name: string, edit: (t: Record<string, unknown>) => void): void =>
    withHeader(name, (h) => {
      const list = h['tensors'] as Record<string, unknown>[];
      edit(list[Math.floor(rng.uniform() * list.length)]!);
    });

  add('empty', new Uint8Array(0));
  add('magic only', valid.slice(0, 8));
  add('preamble only', valid.slice(0, PREAMBLE));
  add('a WAV file', new TextEncoder().encode('RIFF\0\0\0\0WAVEfmt '));
  add('format version 2', assembleModelFile(JSON.stringify(header), data, { formatVersion: 2 }));
  add('header is not JSON', assembleModelFile('{"format": "timbre-model", "tensors": [', data));
  add('header is a JSON array', assembleModelFile('[1, 2, 3]', data));
  add('header is null', assembleModelFile('null', data));
  add('header is a number', assembleModelFile('42', data));
  withHeader('no tensor table', (h) => delete h['tensors']);
  withHeader('tensor table is an object', (h) => (h['tensors'] = { a: 1 }));
  withHeader('tensor entries are numbers', (h) => (h['tensors'] = [1, 2, 3]));
  withHeader('tensor entry null', (h) => (h['tensors'] = [null]));
  withHeader('kind missing', (h) => delete h['kind']);
  withHeader('kind is a number', (h) => (h['kind'] = 7));
  withHeader('kind checkpoint', (h) => (h['kind'] = 'checkpoint'));
  withHeader('kind speakerEncoder', (h) => (h['kind'] = 'speakerEncoder'));
  withHeader('kind vocoder', (h) => (h['kind'] = 'vocoder'));
  withHeader('kindVersion 999', (h) => (h['kindVersion'] = 999));
  withHeader('kindVersion a string', (h) => (h['kindVersion'] = '1'));
  withHeader('melConfig missing', (h) => delete h['melConfig']);
  withHeader('melConfig 64 bins', (h) => (h['melConfig'] = { ...(h['melConfig'] as object), melBins: 64 }));
  withHeader('hyperparameters missing', (h) => delete h['hyperparameters']);
  withHeader('hyperparameters.config null', (h) => (h['hyperparameters'] = { config: null }));
  withHeader('config a string', (h) => (h['hyperparameters'] = { config: 'big' }));
  withHeader('normalization missing', (h) => delete h['normalization']);
  withHeader('normalization wrong length', (h) => (h['normalization'] = { mean: [0, 1], std: [1, 1] }));
  withHeader('speakers not a list', (h) => (h['speakers'] = 'everyone'));
  withHeader('extra null', (h) => (h['extra'] = null));
  withHeader('one tensor dropped', (h) => (h['tensors'] = (h['tensors'] as unknown[]).slice(1)));
  withHeader('tensor table emptied', (h) => (h['tensors'] = []));
  withHeader('a tensor twice', (h) => (h['tensors'] = [...(h['tensors'] as unknown[]), (h['tensors'] as unknown[])[0]]));

  const families: (() => void)[] = [
    // raw bit flips anywhere (checksum, preamble, header, data)
    () => {
      const bytes = valid.slice();
      const flips = 1 + Math.floor(rng.uniform() * 4);
      for (let k = 0; k < flips; k++) {
        const at = rng.uniform() < 0.3 ? Math.floor(rng.uniform() * PREAMBLE) : Math.floor(rng.uniform() * bytes.length);
        bytes[at]! ^= 1 << Math.floor(rng.uniform() * 8);
      }
      add(`${flips} bit flips`, bytes);
    },
    // truncation or padding
    () => {
      const at = Math.floor(rng.uniform() * valid.length);
      add(rng.uniform() < 0.8 ? `truncated at ${at}` : `padded by ${at % 97 + 1}`, rng.uniform() < 0.8 ? valid.slice(0, at) : new Uint8Array([...valid, ...new Uint8Array((at % 97) + 1)]));
    },
    // preamble fields
    () => {
      const bytes = valid.slice();
      const view = new DataView(bytes.buffer);
      const field = pick(rng, [8, 12, 16, 20, 24]);
      const value = pick(rng, [0, 1, 0x7fffffff, 0xffffffff, Math.floor(rng.uniform() * 0xffffffff)]);
      view.setUint32(field, value >>> 0, true);
      add(`preamble u32 ${value} at ${field}`, bytes);
    },
    // huge, negative, fractional or non-numeric shapes (consistent checksum)
    () => {
      const shape = pick(rng, [[1e9, 1e9], [2 ** 31, 2 ** 31, 4], [-1, 80], [-80], [0.5, 3], ['80'], [null], [Number.MAX_SAFE_INTEGER], [], [1e308], [80, -80]]);
      withTensor(`shape ${JSON.stringify(shape)}`, (t) => (t['shape'] = shape));
    },
    // shapes that fit the data but not the model
    () => {
      const t = tensors[Math.floor(rng.uniform() * tensors.length)]!;
      const n = t.shape.reduce((a, b) => a * b, 1);
      const shape = pick(rng, [[n], [1, n], [n, 1], t.shape.length > 1 ? [...t.shape].reverse() : [n, 1]]);
      withHeader(`tensor ${t.name} reshaped to ${JSON.stringify(shape)}`, (h) => {
        const entry = (h['tensors'] as Record<string, unknown>[]).find((x) => x['name'] === t.name)!;
        entry['shape'] = shape;
      });
    },
    // offsets outside or inside-out
    () => {
      const offset = pick(rng, [-64, -4, 3, 1e12, data.length, data.length - 4, 0.5, '0', null]);
      withTensor(`offset ${JSON.stringify(offset)}`, (t) => (t['offset'] = offset));
    },
    // dtype and name
    () => {
      const change = pick(rng, ['dtype float64', 'dtype int8', 'dtype missing', 'name missing', 'name a number', 'name empty', 'dtype float16']);
      withTensor(change, (t) => {
        if (change === 'dtype float64') t['dtype'] = 'float64';
        else if (change === 'dtype int8') t['dtype'] = 'int8';
        else if (change === 'dtype missing') delete t['dtype'];
        else if (change === 'name missing') delete t['name'];
        else if (change === 'name a number') t['name'] = 12;
        else if (change === 'name empty') t['name'] = '';
        else t['dtype'] = 'float16';
      });
    },
    // bit flips inside the header JSON with the checksum fixed: the parser's own checks, not the CRC
    () => {
      const text = new TextEncoder().encode(JSON.stringify(header));
      const flips = 1 + Math.floor(rng.uniform() * 3);
      for (let k = 0; k < flips; k++) text[Math.floor(rng.uniform() * text.length)]! ^= 1 << Math.floor(rng.uniform() * 7);
      add(`${flips} header flips, checksum fixed`, assembleModelFile(new TextDecoder().decode(text), data));
    },
  ];
  for (let i = 0; cases.length < count; i++) families[i % families.length]!();
  return cases;
}
