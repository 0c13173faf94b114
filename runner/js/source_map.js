// provides: SourceMap
// uses:
// private: BASE64, BASE64_VALUE, decodeMappings, parseMap, setMapPrototype

// Source map v3 lookup, decoded lazily: only an error that is formatted pays for it. The map comes
// as its JSON text (runner/rpc/sent_module.py), or as an object.

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// Taken now: module code may replace these before an error of its is mapped.
const parseMap = JSON.parse;
const setMapPrototype = Object.setPrototypeOf;
const BASE64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) BASE64_VALUE[BASE64.charCodeAt(i)] = i;

function decodeMappings(mappings) {
  // lines[genLine] = flat Int32Array of [genCol, srcIndex, srcLine, srcCol] quadruples, sorted by genCol
  const lines = [];
  let srcIndex = 0, srcLine = 0, srcCol = 0;
  let segments = [];
  let genCol = 0;
  let i = 0;
  const n = mappings.length;
  const fields = [0, 0, 0, 0, 0];
  while (i <= n) {
    const ch = i < n ? mappings.charCodeAt(i) : 59; // 59 ';' flushes the last line
    if (ch === 59 || ch === 44) { // ';' or ','
      i++;
      if (ch === 59) {
        lines.push(Int32Array.from(segments));
        segments = [];
        genCol = 0;
      }
      continue;
    }
    let count = 0;
    while (i < n) {
      const c = mappings.charCodeAt(i);
      if (c === 44 || c === 59) break;
      let value = 0, shift = 0, digit;
      do {
        digit = BASE64_VALUE[mappings.charCodeAt(i++)];
        if (digit < 0) throw new Error("invalid source map");
        value += (digit & 31) << shift;
        shift += 5;
      } while (digit & 32);
      fields[count++] = value & 1 ? -(value >>> 1) : value >>> 1;
    }
    genCol += fields[0];
    if (count >= 4) {
      srcIndex += fields[1];
      srcLine += fields[2];
      srcCol += fields[3];
      segments.push(genCol, srcIndex, srcLine, srcCol);
    }
  }
  return lines;
}

class SourceMap {
  constructor(json) {
    this.json = json; // a string or an object; parsed on first lookup
    this.lines = null;
  }

  decode() {
    if (this.lines) return;
    // Without a prototype: a field the map lacks is not read from what module code put on Object.prototype.
    const map = typeof this.json === "string" ? setMapPrototype(parseMap(this.json), null) : this.json;
    this.sources = map.sources || [];
    this.lines = decodeMappings(map.mappings || "");
  }

  // line and column are 1-based (as stack frames give them); returns 1-based or null
  originalPosition(line, column) {
    this.decode();
    let row = line - 1;
    const col = column - 1;
    while (row >= 0 && row < this.lines.length) {
      const segs = this.lines[row];
      let best = -1;
      for (let k = 0; k < segs.length; k += 4) {
        if (row !== line - 1 || segs[k] <= col) best = k;
        else break;
      }
      if (best >= 0) {
        let column = segs[best + 3];
        // Inside a chunk copied unchanged (it spans as many columns in both sources, up to the
        // next segment), the column moves with the generated one.
        const next = best + 4;
        if (row === line - 1 && next < segs.length && segs[next + 1] === segs[best + 1] &&
            segs[next + 2] === segs[best + 2] && segs[next + 3] - column === segs[next] - segs[best]) {
          column += col - segs[best];
        }
        return { source: this.sources[segs[best + 1]], line: segs[best + 2] + 1, column: column + 1 };
      }
      row--; // no segment before the column on this line: fall back to the previous mapped line
    }
    return null;
  }
}
