import { describe, expect, it } from 'vitest';
import {
  AmfError,
  type AmfObject,
  decodeAmf0,
  decodeAmf0Value,
  EcmaArray,
  encodeAmf0,
  MAX_DEPTH,
  MAX_PROPERTIES,
  propertiesOf,
} from '../src/rtmp/amf0.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const double = (value: number) => {
  const out = Buffer.alloc(8);
  out.writeDoubleBE(value);
  return out;
};
const key = (name: string) => Buffer.concat([Buffer.of(0, name.length), Buffer.from(name)]);
const OBJECT_END = hex('000009');

describe('AMF0 decoding, from bytes built by hand', () => {
  it('reads every type an encoder sends', () => {
    const bytes = Buffer.concat([
      Buffer.of(0x00),
      double(1.5), // number
      hex('01 01'), // true
      hex('02 0003'),
      Buffer.from('abc'), // string
      hex('05'), // null
      hex('06'), // undefined
      hex('0b'),
      double(86_400_000),
      hex('0000'), // date
      hex('0c 00000002'),
      Buffer.from('hi'), // long string
      hex('0a 00000002 00'),
      double(7),
      hex('02 0001'),
      Buffer.from('x'), // strict array [7, 'x']
    ]);
    const values = decodeAmf0(bytes);
    expect(values.slice(0, 5)).toEqual([1.5, true, 'abc', null, undefined]);
    expect(values[5]).toEqual(new Date(86_400_000));
    expect(values.slice(6)).toEqual(['hi', [7, 'x']]);
  });

  it('reads an object and an ECMA array up to their end markers', () => {
    const object = Buffer.concat([hex('03'), key('app'), hex('02 0004'), Buffer.from('live'), OBJECT_END]);
    const ecma = Buffer.concat([
      hex('08 00000063'), // a wrong count: the end marker decides
      key('width'),
      Buffer.of(0),
      double(640),
      key('stereo'),
      hex('01 00'),
      OBJECT_END,
    ]);
    const [first, second] = decodeAmf0(Buffer.concat([object, ecma]));
    expect({ ...(first as AmfObject) }).toEqual({ app: 'live' });
    expect(second).toBeInstanceOf(EcmaArray);
    expect({ ...propertiesOf(second as EcmaArray) }).toEqual({ width: 640, stereo: false });
  });

  it('keeps a __proto__ key as data, never as a prototype', () => {
    const bytes = Buffer.concat([
      hex('03'),
      key('__proto__'),
      hex('03'),
      key('polluted'),
      hex('01 01'),
      OBJECT_END,
      OBJECT_END,
    ]);
    const [value] = decodeAmf0(bytes);
    expect(Object.getPrototypeOf(value)).toBeNull();
    expect(Object.keys(value as AmfObject)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('returns where a value ends, so a message can be split after its first values', () => {
    const bytes = encodeAmf0('@setDataFrame', 'onMetaData', new EcmaArray({ width: 1 }));
    const first = decodeAmf0Value(bytes, 0);
    expect(first).toEqual({ value: '@setDataFrame', offset: 16 });
    expect(decodeAmf0Value(bytes, first.offset).value).toBe('onMetaData');
  });
});

describe('AMF0 encoding', () => {
  it('writes the bytes a client expects for a command', () => {
    const bytes = encodeAmf0('_result', 1, null, { code: 'ok' });
    expect(bytes).toEqual(
      Buffer.concat([
        hex('02 0007'),
        Buffer.from('_result'),
        Buffer.of(0),
        double(1),
        hex('05 03'),
        key('code'),
        hex('02 0002'),
        Buffer.from('ok'),
        OBJECT_END,
      ]),
    );
  });

  it('round-trips every type, with a long string for more than 65,535 bytes', () => {
    const long = 'y'.repeat(65_536);
    const values = [
      3,
      false,
      'é',
      null,
      undefined,
      new Date(5),
      [1, 'a'],
      { nested: { deeper: [true] } },
      new EcmaArray({ a: 1 }),
      long,
    ];
    const bytes = encodeAmf0(...values);
    expect(bytes[bytes.length - 65_536 - 5]).toBe(0x0c);
    const decoded = decodeAmf0(bytes);
    expect(decoded.slice(0, 7)).toEqual(values.slice(0, 7));
    expect(JSON.parse(JSON.stringify(decoded[7]))).toEqual(values[7]);
    expect({ ...(decoded[8] as EcmaArray).properties }).toEqual({ a: 1 });
    expect(decoded[9]).toBe(long);
  });
});

describe('AMF0 bounds', () => {
  const nested = (depth: number): unknown => (depth === 0 ? 1 : { a: nested(depth - 1) });

  it(`accepts ${MAX_DEPTH} levels of nesting and refuses ${MAX_DEPTH + 1}`, () => {
    expect(() => decodeAmf0(encodeAmf0(nested(MAX_DEPTH) as AmfObject))).not.toThrow();
    expect(() => decodeAmf0(encodeAmf0(nested(MAX_DEPTH + 1) as AmfObject))).toThrow(/deeper than 8/);
    expect(() => decodeAmf0(encodeAmf0([[[[[[[[[1]]]]]]]]]))).toThrow(AmfError);
  });

  it(`accepts ${MAX_PROPERTIES} properties and refuses more, and arrays likewise`, () => {
    const props = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect(() => decodeAmf0(encodeAmf0(props(MAX_PROPERTIES)))).not.toThrow();
    expect(() => decodeAmf0(encodeAmf0(props(MAX_PROPERTIES + 1)))).toThrow(/more than 64 properties/);
    expect(() => decodeAmf0(encodeAmf0(new EcmaArray(props(MAX_PROPERTIES + 1))))).toThrow(AmfError);
    expect(() => decodeAmf0(encodeAmf0(Array.from({ length: MAX_PROPERTIES + 1 }, () => null)))).toThrow(/array/);
  });

  it('refuses a claimed length before reading it: strings over 64 KiB, huge array counts', () => {
    expect(() => decodeAmf0(hex('0c 00010001'))).toThrow(/65537 bytes/);
    expect(() => decodeAmf0(hex('0a ffffffff'))).toThrow(/array of 4294967295/);
  });

  it('refuses truncated values and types it does not speak', () => {
    for (const bytes of ['00 0000', '02 0005 6162', '03 0001 61', '0b 00', '08 00000000 0001 61 00']) {
      expect(() => decodeAmf0(hex(bytes)), bytes).toThrow(/truncated/);
    }
    for (const marker of ['04', '07 0001', '0d', '10', '11', 'ff']) {
      expect(() => decodeAmf0(hex(marker)), marker).toThrow(/unsupported AMF0 type/);
    }
    expect(() => decodeAmf0(hex('03 0000 05'))).toThrow(/end marker/);
  });
});
