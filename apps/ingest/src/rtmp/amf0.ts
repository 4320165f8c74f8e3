/*
 * AMF0, the encoding of RTMP commands (connect, publish, onStatus…) and of onMetaData. Only the
 * types encoders send; references, typed objects, XML and AMF3 switches are refused. Decoding is
 * bounded so a client cannot make us build a large or deep value before it is authorized: the
 * message holding it is at most 64 KiB then, and a value is at most MAX_DEPTH deep, with at most
 * MAX_PROPERTIES entries per object or array and strings of at most MAX_STRING_BYTES.
 */

export const MAX_DEPTH = 8;
export const MAX_PROPERTIES = 64;
export const MAX_STRING_BYTES = 64 * 1024;

const NUMBER = 0x00;
const BOOLEAN = 0x01;
const STRING = 0x02;
const OBJECT = 0x03;
const NULL = 0x05;
const UNDEFINED = 0x06;
const ECMA_ARRAY = 0x08;
const OBJECT_END = 0x09;
const STRICT_ARRAY = 0x0a;
const DATE = 0x0b;
const LONG_STRING = 0x0c;

export type AmfValue = number | boolean | string | null | undefined | Date | AmfValue[] | AmfObject | EcmaArray;

/** An anonymous object. Decoded ones have no prototype, so a key `__proto__` is just a key. */
export interface AmfObject {
  [key: string]: AmfValue;
}

/** An ECMA array (what onMetaData usually is): properties like an object, sent with a count. */
export class EcmaArray {
  constructor(readonly properties: AmfObject) {}
}

export class AmfError extends Error {
  override name = 'AmfError';
}

/** Decodes every value of `buffer` (a command is a sequence of values). Throws AmfError. */
export function decodeAmf0(buffer: Buffer): AmfValue[] {
  const values: AmfValue[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const decoded = decodeAmf0Value(buffer, offset);
    values.push(decoded.value);
    offset = decoded.offset;
  }
  return values;
}

/** Decodes one value at `offset`; returns it and the offset after it. Throws AmfError. */
export function decodeAmf0Value(buffer: Buffer, offset: number): { value: AmfValue; offset: number } {
  const reader = new Reader(buffer, offset);
  const value = readValue(reader, 0);
  return { value, offset: reader.offset };
}

class Reader {
  constructor(
    readonly buffer: Buffer,
    public offset: number,
  ) {}

  need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) throw new AmfError('truncated AMF0 value');
  }
  u8(): number {
    this.need(1);
    return this.buffer.readUInt8(this.offset++);
  }
  u16(): number {
    this.need(2);
    const value = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  u32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  double(): number {
    this.need(8);
    const value = this.buffer.readDoubleBE(this.offset);
    this.offset += 8;
    return value;
  }
  utf8(length: number): string {
    if (length > MAX_STRING_BYTES) throw new AmfError(`AMF0 string of ${length} bytes (at most ${MAX_STRING_BYTES})`);
    this.need(length);
    const value = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
}

function readValue(reader: Reader, depth: number): AmfValue {
  const marker = reader.u8();
  switch (marker) {
    case NUMBER:
      return reader.double();
    case BOOLEAN:
      return reader.u8() !== 0;
    case STRING:
      return reader.utf8(reader.u16());
    case LONG_STRING:
      return reader.utf8(reader.u32());
    case NULL:
      return null;
    case UNDEFINED:
      return undefined;
    case DATE: {
      const time = reader.double();
      reader.u16(); // time zone: reserved, always 0
      return new Date(time);
    }
    case OBJECT:
      return readProperties(reader, depth + 1);
    case ECMA_ARRAY:
      // The count is only a hint (encoders get it wrong); the end marker ends the array.
      reader.u32();
      return new EcmaArray(readProperties(reader, depth + 1));
    case STRICT_ARRAY: {
      const count = reader.u32();
      if (count > MAX_PROPERTIES) throw new AmfError(`AMF0 array of ${count} items (at most ${MAX_PROPERTIES})`);
      enter(depth + 1);
      const items: AmfValue[] = [];
      for (let i = 0; i < count; i++) items.push(readValue(reader, depth + 1));
      return items;
    }
    default:
      throw new AmfError(`unsupported AMF0 type 0x${marker.toString(16).padStart(2, '0')}`);
  }
}

function enter(depth: number): void {
  if (depth > MAX_DEPTH) throw new AmfError(`AMF0 value nested deeper than ${MAX_DEPTH}`);
}

function readProperties(reader: Reader, depth: number): AmfObject {
  enter(depth);
  const properties: AmfObject = Object.create(null);
  for (let count = 0; ; count++) {
    const key = reader.utf8(reader.u16());
    if (key === '') {
      if (reader.u8() !== OBJECT_END) throw new AmfError('AMF0 object: empty key without the end marker');
      return properties;
    }
    if (count >= MAX_PROPERTIES) throw new AmfError(`AMF0 object with more than ${MAX_PROPERTIES} properties`);
    properties[key] = readValue(reader, depth);
  }
}

/** Encodes values one after another (a command, or a script tag's body). */
export function encodeAmf0(...values: AmfValue[]): Buffer {
  const parts: Buffer[] = [];
  for (const value of values) writeValue(parts, value);
  return Buffer.concat(parts);
}

function writeValue(parts: Buffer[], value: AmfValue): void {
  if (value === null) parts.push(Buffer.of(NULL));
  else if (value === undefined) parts.push(Buffer.of(UNDEFINED));
  else if (typeof value === 'number') {
    const out = Buffer.alloc(9);
    out[0] = NUMBER;
    out.writeDoubleBE(value, 1);
    parts.push(out);
  } else if (typeof value === 'boolean') parts.push(Buffer.of(BOOLEAN, value ? 1 : 0));
  else if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > 0xffff) {
      const head = Buffer.alloc(5);
      head[0] = LONG_STRING;
      head.writeUInt32BE(bytes.length, 1);
      parts.push(head, bytes);
    } else {
      parts.push(Buffer.of(STRING), u16(bytes.length), bytes);
    }
  } else if (value instanceof Date) {
    const out = Buffer.alloc(11);
    out[0] = DATE;
    out.writeDoubleBE(value.getTime(), 1);
    parts.push(out);
  } else if (Array.isArray(value)) {
    const head = Buffer.alloc(5);
    head[0] = STRICT_ARRAY;
    head.writeUInt32BE(value.length, 1);
    parts.push(head);
    for (const item of value) writeValue(parts, item);
  } else if (value instanceof EcmaArray) {
    const head = Buffer.alloc(5);
    head[0] = ECMA_ARRAY;
    head.writeUInt32BE(Object.keys(value.properties).length, 1);
    parts.push(head);
    writeProperties(parts, value.properties);
  } else {
    parts.push(Buffer.of(OBJECT));
    writeProperties(parts, value);
  }
}

function writeProperties(parts: Buffer[], properties: AmfObject): void {
  for (const [key, item] of Object.entries(properties)) {
    const bytes = Buffer.from(key, 'utf8');
    parts.push(u16(bytes.length), bytes);
    writeValue(parts, item);
  }
  parts.push(Buffer.of(0, 0, OBJECT_END));
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

/** The properties of an object or ECMA array value; undefined for anything else. */
export function propertiesOf(value: AmfValue): AmfObject | undefined {
  if (value instanceof EcmaArray) return value.properties;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)) return value;
  return undefined;
}
