// provides: defineFormData, formDataEntries
// uses: toUSVString
// private: FORM_DATA

// FormData (XHR standard). Ours, with Blob and File: formdata-polyfill needs fetch-blob, which is
// Node's. Entries are [name, value] with value a string or a File.

const FORM_DATA = new WeakMap();

function formDataEntries(formData) {
  const entries = FORM_DATA.get(formData);
  if (entries === undefined) throw new TypeError("Illegal invocation: not a FormData");
  return entries;
}

function defineFormData(Blob, File) {
  const entry = (name, value, filename, count) => {
    const key = toUSVString(name);
    if (value instanceof Blob) {
      if (count === 3 || !(value instanceof File)) {
        const fileName = count === 3 ? toUSVString(filename) : "blob";
        value = new File([value], fileName, { type: value.type, lastModified: value instanceof File ? value.lastModified : undefined });
      }
      return [key, value];
    }
    if (count === 3) throw new TypeError("FormData: a filename is only allowed with a Blob value");
    return [key, toUSVString(value)];
  };

  class FormData {
    constructor(form = undefined, submitter = undefined) {
      if (form !== undefined) throw new TypeError("FormData: there are no form elements here, so no form argument");
      void submitter;
      FORM_DATA.set(this, []);
    }
    append(name, value, filename = undefined) {
      if (arguments.length < 2) throw new TypeError("FormData.append: 2 arguments required");
      formDataEntries(this).push(entry(name, value, filename, arguments.length));
    }
    delete(name) {
      const key = toUSVString(name);
      const entries = formDataEntries(this);
      FORM_DATA.set(this, entries.filter(([k]) => k !== key));
    }
    get(name) {
      const key = toUSVString(name);
      const found = formDataEntries(this).find(([k]) => k === key);
      return found === undefined ? null : found[1];
    }
    getAll(name) {
      const key = toUSVString(name);
      return formDataEntries(this).filter(([k]) => k === key).map(([, v]) => v);
    }
    has(name) {
      const key = toUSVString(name);
      return formDataEntries(this).some(([k]) => k === key);
    }
    set(name, value, filename = undefined) {
      if (arguments.length < 2) throw new TypeError("FormData.set: 2 arguments required");
      const item = entry(name, value, filename, arguments.length);
      const entries = formDataEntries(this);
      const at = entries.findIndex(([k]) => k === item[0]);
      if (at < 0) {
        entries.push(item);
        return;
      }
      entries[at] = item;
      FORM_DATA.set(this, entries.filter(([k], i) => k !== item[0] || i === at));
    }
    forEach(callback, thisArg = undefined) {
      if (typeof callback !== "function") throw new TypeError("FormData.forEach: the callback is not a function");
      for (const [key, value] of this) callback.call(thisArg, value, key, this);
    }
    *entries() {
      for (let i = 0; i < formDataEntries(this).length; i++) {
        const [key, value] = formDataEntries(this)[i];
        yield [key, value];
      }
    }
    *keys() { for (const [key] of this.entries()) yield key; }
    *values() { for (const [, value] of this.entries()) yield value; }
    [Symbol.iterator]() { return this.entries(); }
  }

  Object.defineProperty(FormData.prototype, Symbol.toStringTag, { value: "FormData", configurable: true });
  return { FormData };
}
