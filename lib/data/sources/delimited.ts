/**
 * CSV and TSV reader: RFC 4180 quoting (fields in double quotes may hold the delimiter, line
 * breaks and `""` for a quote), CRLF or LF line ends, a header row naming the fields. Streams
 * over text chunks with a small state machine so a quoted field may span chunks and lines.
 * Quoting can be turned off for TSV files whose quotes are plain text (GLUE-style files).
 */
import { maxRecordChars, recordTooLarge, textChunks } from './lines';
import { type DataRecord, type FileReader, MalformedRecord, type RawItem } from './types';

/** Options of the delimited reader. */
export interface DelimitedOptions {
  delimiter: string;
  quoting: boolean;
  /** Field names when the file has no header row. */
  header?: string[];
}

/** One parsed row: its fields, 1-based start line, and a syntax error if the row is broken. */
export interface DelimitedRow {
  fields: string[];
  line: number;
  error?: string;
}

const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * Splits a stream of text chunks into rows. Empty lines are skipped. A syntax error (text
 * after a closing quote, a quote inside an unquoted field, an unterminated quote) marks the row
 * and the parser resynchronises at the next line end outside quotes, or at the end of input.
 */
export async function* parseDelimited(
  chunks: AsyncIterable<string>,
  delimiter: string,
  quoting: boolean,
  maxRowChars = Number.POSITIVE_INFINITY,
): AsyncGenerator<DelimitedRow> {
  if (delimiter.length !== 1) throw new Error(`delimiter must be one character, got '${delimiter}'`);
  const delim = delimiter.charCodeAt(0);
  let fields: string[] = [];
  let field = '';
  let line = 1; // current line of the input
  let rowLine = 1; // line where the current row started
  let error: string | undefined;
  // 0: at field start, 1: in unquoted field, 2: in quoted field, 3: just after a quote inside a quoted field
  let state = 0;
  let rowHasContent = false;
  let pendingCR = false;
  // Characters of the current row held so far (its finished fields and the open one).
  let rowChars = 0;

  const endRow = (): DelimitedRow | undefined => {
    if (rowChars + field.length > maxRowChars) throw new RowTooLarge(rowLine);
    rowChars = 0;
    fields.push(field);
    field = '';
    const row: DelimitedRow | undefined =
      rowHasContent || fields.length > 1 ? { fields, line: rowLine, ...(error ? { error } : {}) } : undefined;
    fields = [];
    error = undefined;
    rowHasContent = false;
    state = 0;
    return row;
  };

  for await (const text of chunks) {
    const n = text.length;
    let segStart = 0; // start of a run of plain characters to append to `field`
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (pendingCR) {
        pendingCR = false;
        if (c === LF) {
          segStart = i + 1;
          continue;
        }
      }
      if (state === 2) {
        if (c === QUOTE) {
          field += text.slice(segStart, i);
          state = 3;
        } else if (c === LF) {
          line++;
        }
        continue;
      }
      if (state === 3) {
        if (c === QUOTE) {
          field += '"';
          state = 2;
          segStart = i + 1;
          continue;
        }
        if (c !== delim && c !== LF && c !== CR) {
          error ??= `unexpected character '${text[i]}' after a closing quote`;
          state = 1;
          segStart = i;
          continue;
        }
        state = 1;
        segStart = i;
      }
      if (c === delim) {
        field += text.slice(segStart, i);
        rowChars += field.length + 1;
        fields.push(field);
        field = '';
        state = 0;
        rowHasContent = true;
        segStart = i + 1;
      } else if (c === LF || c === CR) {
        field += text.slice(segStart, i);
        const row = endRow();
        if (row) yield row;
        line++;
        rowLine = line;
        if (c === CR) pendingCR = true;
        segStart = i + 1;
      } else if (c === QUOTE && quoting) {
        if (state === 0) {
          state = 2;
          rowHasContent = true;
          segStart = i + 1;
        } else {
          error ??= 'a double quote inside an unquoted field (quote the whole field and double the quote)';
        }
      } else {
        if (state === 0) state = 1;
        rowHasContent = true;
      }
    }
    if (state !== 3) field += text.slice(segStart, n);
    if (rowChars + field.length > maxRowChars) throw new RowTooLarge(rowLine);
  }
  if (state === 2) error ??= 'unterminated quoted field (a quote opened here is never closed)';
  const row = endRow();
  if (row) yield row;
}

/** Thrown by {@link parseDelimited} for a row over its limit; the reader adds the file. */
export class RowTooLarge extends Error {
  constructor(readonly line: number) {
    super(`the row starting at line ${line} is too large`);
  }
}

/** Builds a CSV (`,`) or TSV (tab) file reader. Raw items are rows; the index counts data rows. */
export function delimitedReader(opts: DelimitedOptions): FileReader {
  let header: string[] | undefined;
  return {
    async *items(file: string, start: number): AsyncGenerator<RawItem> {
      header = opts.header;
      let index = 0;
      const limit = maxRecordChars();
      try {
        for await (const row of parseDelimited(textChunks(file), opts.delimiter, opts.quoting, limit)) {
          if (header === undefined) {
            if (row.error) throw new MalformedRecord(`header row (line ${row.line}): ${row.error}`);
            checkHeader(row.fields, row.line);
            header = row.fields;
            continue;
          }
          const i = index++;
          if (i < start) continue;
          const item: RawItem = { index: i, where: `line ${row.line}`, raw: row.fields };
          if (row.error) item.error = row.error;
          yield item;
        }
      } catch (err) {
        if (err instanceof RowTooLarge) throw recordTooLarge(file, `line ${err.line}`, limit);
        throw err;
      }
    },
    decode(raw: unknown): DataRecord {
      const fields = raw as string[];
      const names = header!;
      if (fields.length !== names.length) {
        throw new MalformedRecord(
          `has ${fields.length} field${fields.length === 1 ? '' : 's'}, the header has ${names.length}`,
        );
      }
      const rec: DataRecord = {};
      for (let k = 0; k < names.length; k++) rec[names[k]!] = fields[k];
      return rec;
    },
  };
}

function checkHeader(names: string[], line: number): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (name.length === 0) throw new MalformedRecord(`header row (line ${line}) has an empty column name`);
    if (seen.has(name)) throw new MalformedRecord(`header row (line ${line}) names column '${name}' twice`);
    seen.add(name);
  }
}
